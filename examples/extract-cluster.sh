#!/usr/bin/env bash
# Extract every node of a cluster into a shared folder, build the cluster's graph, and register it with rainbow.
#
#   extract-cluster.sh -l flux  -c mycluster -d /shared/compspec -r      # inside a Flux instance
#   extract-cluster.sh -l slurm -c mycluster -d /shared/compspec -r      # inside a Slurm allocation (salloc -N ...)
#   extract-cluster.sh -l ssh   -c mycluster -d /shared/compspec -H hosts.txt
#   extract-cluster.sh -l local -c laptop    -d ./compspec -r            # just this machine
#
# Options:
#   -l LAUNCHER  flux (flux exec on every broker rank), slurm (srun, one task per node), ssh (one per line of -H),
#                or local (this machine only)
#   -c NAME      the cluster's name
#   -d DIR       a folder every node sees at the same path; node files go to DIR/nodes, the graph to DIR/graph.json
#   -H FILE      with -l ssh: the hosts, one per line
#   -r           register the graph afterwards (rainbow register --save: the server address and registration
#                secret come from rainbow-config.yaml or RAINBOW_HOST / RAINBOW_SECRET)
#   -n           dry run: print the commands, run nothing
#
# COMPSPEC names the compspec command on the nodes (default: compspec), RAINBOW the rainbow command here.
set -euo pipefail

launcher="" cluster="" dir="" hostfile="" register=0 dry=0
compspec=${COMPSPEC:-compspec}
rainbow=${RAINBOW:-rainbow}

# The comment block at the top of this file, without its "# " (it ends at the first line that is not a comment).
help_text() { sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"; }
# -h: the help on stdout, exit 0; a wrong call: the help on stderr, exit 2.
usage() { help_text >&2; exit 2; }

while getopts ":l:c:d:H:rnh" opt; do
  case "$opt" in
    l) launcher=$OPTARG ;;
    c) cluster=$OPTARG ;;
    d) dir=$OPTARG ;;
    H) hostfile=$OPTARG ;;
    r) register=1 ;;
    n) dry=1 ;;
    h) help_text; exit 0 ;;
    :) echo "extract-cluster.sh: -$OPTARG needs a value" >&2; usage ;;
    *) echo "extract-cluster.sh: unknown option -$OPTARG" >&2; usage ;;
  esac
done
[ -n "$launcher" ] && [ -n "$cluster" ] && [ -n "$dir" ] || usage
case "$launcher" in
  flux|slurm|local) ;;
  ssh) [ -r "$hostfile" ] || { echo "extract-cluster.sh: -l ssh needs -H FILE with one host per line" >&2; exit 2; } ;;
  *) echo "extract-cluster.sh: unknown launcher '$launcher' (flux, slurm, ssh, local)" >&2; exit 2 ;;
esac

# Absolute, so that every node writes to the same place whatever its working directory.
case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac
nodes="$dir/nodes"

# What each node runs: its hostname names its file (and its vertex in the graph).
per_node="$compspec extract --quiet --out \"$nodes/\$(hostname).json\""

# Print a command so that it can be pasted back into a shell.
show() {
  local out="" word
  for word in "$@"; do
    if [[ "$word" =~ ^[A-Za-z0-9_./=:,+-]+$ ]]; then out+="$word "; else out+="${word@Q} "; fi
  done
  printf '%s\n' "${out% }"
}

run() {
  if [ "$dry" = 1 ]; then
    show "$@"
  else
    "$@"
  fi
}

run mkdir -p "$nodes"
case "$launcher" in
  flux)  run flux exec -r all sh -c "$per_node" ;;
  slurm) run srun --nodes="${SLURM_JOB_NUM_NODES:-1}" --ntasks-per-node=1 sh -c "$per_node" ;;
  local) run sh -c "$per_node" ;;
  ssh)
    pids=()
    while read -r host; do
      [ -n "$host" ] || continue
      case "$host" in \#*) continue ;; esac
      if [ "$dry" = 1 ]; then
        run ssh -n "$host" "$per_node"
      else
        ssh -n "$host" "$per_node" & pids+=("$!")
      fi
    done < "$hostfile"
    for pid in "${pids[@]}"; do wait "$pid"; done
    ;;
esac

if [ "$dry" = 0 ]; then
  count=$(find "$nodes" -maxdepth 1 -name '*.json' | wc -l)
  echo "extracted $count node(s) into $nodes"
fi
run "$compspec" create nodes --cluster-name "$cluster" --node-dir "$nodes" --nodes-output "$dir/graph.json"
if [ "$register" = 1 ]; then
  run "$rainbow" register --cluster-name "$cluster" --nodes-json "$dir/graph.json" --save
fi
