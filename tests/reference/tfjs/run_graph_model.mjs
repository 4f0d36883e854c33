// Runs a TF.js graph model on images with TensorFlow.js itself (cpu backend): the reference the
// importer's TorchScript is compared against (tests only, never part of the daemon).
//   ACTIOND_TFJS_DIR=<dir with node_modules> node run_graph_model.mjs model.json images.npy outputs.npy
// images.npy: uint8 or int32 [N,H,W,3] RGB; each image runs alone (batch 1), outputs are stacked.
// The packages (package.json + package-lock.json here, pinned) are installed by scripts/fetch-pretrained.sh.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const modules = process.env.ACTIOND_TFJS_DIR;
if (!modules || !fs.existsSync(path.join(modules, 'node_modules', '@tensorflow', 'tfjs-core'))) {
  console.error(`run_graph_model: TensorFlow.js is not installed in ${modules}: run scripts/fetch-pretrained.sh`);
  process.exit(2);
}
const require = createRequire(path.join(modules, 'package.json'));
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const converter = require('@tensorflow/tfjs-converter');

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${file}: not a .npy file`);
  const v1 = buf[6] === 1;
  const headerLen = v1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = v1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').filter((s) => s.trim()).map(Number);
  const data = buf.subarray(start + headerLen);
  const arr = descr === '|u1' ? Int32Array.from(data)
    : descr === '<i4' ? new Int32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length))
    : null;
  if (!arr) throw new Error(`${file}: dtype ${descr} (want |u1 or <i4)`);
  return { shape, data: arr };
}

function writeNpy(file, shape, values) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header = header + ' '.repeat(pad % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1; pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(new Float32Array(values).buffer)]));
}

const [modelPath, imagesPath, outPath] = process.argv.slice(2);
if (!outPath) { console.error('usage: node run_graph_model.mjs model.json images.npy outputs.npy'); process.exit(2); }
const json = JSON.parse(fs.readFileSync(modelPath, 'utf8'));
const specs = []; const shards = [];
for (const group of json.weightsManifest) {
  specs.push(...group.weights);
  for (const p of group.paths) shards.push(fs.readFileSync(path.join(path.dirname(modelPath), p)));
}
const all = Buffer.concat(shards);
const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.length);
await tf.setBackend('cpu');
const model = await converter.loadGraphModel({
  load: async () => ({ modelTopology: json.modelTopology, weightSpecs: specs, weightData, format: json.format,
    generatedBy: json.generatedBy, convertedBy: json.convertedBy, signature: json.signature }),
});
const images = readNpy(imagesPath);
const [n, h, w, c] = images.shape;
const outs = []; let outShape = null;
for (let i = 0; i < n; i++) {
  const slice = images.data.subarray(i * h * w * c, (i + 1) * h * w * c);
  const input = tf.tensor(slice, [1, h, w, c], 'int32');
  const y = model.execute(input);
  outShape = y.shape.slice(1);
  outs.push(...y.dataSync());
  tf.dispose([input, y]);
}
writeNpy(outPath, [n, ...outShape], outs);
console.log(`tfjs ${tf.version_core} ${tf.getBackend()}: ${n} images -> [${[n, ...outShape].join(', ')}]`);
