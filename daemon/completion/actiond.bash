# bash completion for actiond and actionctl. The words come from the program's own --help (and each
# subcommand's), so completion never disagrees with what the program accepts.
# Installed as /usr/share/bash-completion/completions/{actiond,actionctl}.

# Options and subcommands that `PROGRAM [SUBCOMMAND...] --help` lists.
_actiond_words() {
  local help
  help=$("$@" --help 2>/dev/null) || return 0
  sed -n '/^Options:/,/^$/p' <<<"$help" | grep -oE -- '(^|[ ,])--?[A-Za-z][A-Za-z0-9-]*' | tr -d ' ,'
  sed -n '/^Subcommands:/,/^$/p' <<<"$help" | awk '/^  [a-z]/ {print $1}'
}

# Whether OPTION of `PROGRAM [SUBCOMMAND...]` takes a value (its help line names a type).
_actiond_takes_value() {
  local option=$1
  shift
  "$@" --help 2>/dev/null | grep -qE -- "(^|[ ,])${option}( |=)[A-Z]"
}

_actiond_complete() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
  local cmd=("${COMP_WORDS[0]}") i word
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${COMP_WORDS[i]}
    if [[ $word != -* ]] && _actiond_words "${cmd[@]}" | grep -qx -- "$word"; then
      cmd+=("$word")
    fi
  done
  if [[ $prev == -* && $cur != -* ]] && _actiond_takes_value "$prev" "${cmd[@]}"; then
    case $prev in
      -c | --config | --model-dir | --out | --world | --workbench) mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
      *) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
    esac
    return 0
  fi
  mapfile -t COMPREPLY < <(compgen -W "$(_actiond_words "${cmd[@]}")" -- "$cur")
  if [[ ${#COMPREPLY[@]} -eq 0 && $cur != -* ]]; then
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")  # positional files (actionctl cluster put FILE...)
  fi
  return 0
}

complete -F _actiond_complete actiond actionctl
