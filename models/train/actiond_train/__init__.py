"""actiond's training and evaluation code: worlds from labelled data, the segmenters, recognizers and
backbones the daemon serves (TorchScript with a manifest), calibration, decoding settings and the
figures in docs/RESULTS.md. Each module with a command line runs as `python3 -m actiond_train.NAME`
(scripts/train-*.sh do; scripts/lib.sh puts models/train on PYTHONPATH; the .deb installs the
package into /usr/share/actiond/python)."""
