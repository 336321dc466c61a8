#!/usr/bin/env bash
# Submits a whole kfold batch to SLURM: an MSA array job on CPU nodes, then a GPU array job that starts
# when it has ended (afterany: targets whose MSA failed are recorded as such, the rest still run).
#   scripts/slurm/submit.sh TARGETS OUT DB MSA_TASKS GPU_TASKS [extra kfold batch options for both]
# sbatch options of each job (partition, account, time, CPUs, memory, gres; not --array, which this sets)
# in KFOLD_MSA_SBATCH_OPTS and KFOLD_PREDICT_SBATCH_OPTS (words, split at spaces); at most K tasks of a job at
# once: KFOLD_MSA_MAX_RUNNING=K, KFOLD_PREDICT_MAX_RUNNING=K.
# The kfold binary: $KFOLD, else kfold on PATH (checked here: the nodes must see the same path).
# Example (10,000 targets, 200 CPU tasks of ~50 targets, 40 GPU tasks of ~250 targets):
#   KFOLD_MSA_SBATCH_OPTS="--partition=cpu --cpus-per-task=32" KFOLD_PREDICT_SBATCH_OPTS="--partition=gpu \
#     --gres=gpu:4 --cpus-per-task=16" scripts/slurm/submit.sh targets.csv /scratch/kfold/out /data/dbs/uniref50 \
#     200 40 --params /data/af2
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
case "${1:-}" in -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}"; exit 0 ;; esac
[[ $# -ge 5 ]] || { sed -n '2,12p' "${BASH_SOURCE[0]}" >&2; exit 2; }
targets="$1" out="$2" db="$3" msa_tasks="$4" gpu_tasks="$5"
shift 5
# Task counts: plain decimal numbers (never evaluated as shell arithmetic: "010" was octal 8 for --array but 10
# for kfold's KFOLD_SHARDS, so shards 8 and 9 never ran), checked before anything is submitted.
for name in msa_tasks gpu_tasks; do
  value="${!name}"
  if [[ ! $value =~ ^[0-9]{1,6}$ ]] || (( 10#$value < 1 )); then
    echo "submit.sh: ${name^^} '$value': expected a whole number of array tasks, 1 to 999999" >&2
    exit 2
  fi
  printf -v "$name" '%d' "$((10#$value))"
done
# Options the array scripts set themselves: predict_array.sbatch gives each worker its own GPU (--device cuda:N: a
# --device here would fail every GPU task); the shard comes from the array (a --shard here gave every task all
# targets), the stage and output folder from this script's arguments.
for arg in "$@"; do
  case "$arg" in
    --device|--device=*)
      echo "submit.sh: leave --device out: the predict array job gives each worker its GPU (--device cuda:N)" >&2
      exit 2 ;;
    --shard|--shard=*|--stage|--stage=*|--output|--output=*|--out|--out=*|-o*|-[qv]o*|-[qv][qv]o*)
      # (-o*, -[qv]o*: -o, -oDIR and -qoDIR, as kfold's parser takes -o)
      echo "submit.sh: leave ${arg%%=*} out: the array jobs set it (each task its shard, the MSA job --stage msa," \
        "the predict job --stage predict, both -o OUT)" >&2
      exit 2 ;;
  esac
done
# The inputs exist here (the jobs run in this folder too: relative paths hold), or no job starts at all.
[[ -e $targets ]] || { echo "submit.sh: TARGETS $targets: not found (a CSV, a FASTA file or a folder of them)" >&2; exit 2; }
[[ -e $db ]] || { echo "submit.sh: DB $db: not found (a FASTA file or a folder made by kfold db create)" >&2; exit 2; }
command -v sbatch > /dev/null || { echo "submit.sh: sbatch not found on PATH (run this on a SLURM login node)" >&2; exit 2; }
# Without the binary both jobs fail at once (exit 127), the predict job after the MSA job.
command -v "${KFOLD:-kfold}" > /dev/null || {
  echo "submit.sh: ${KFOLD:-kfold}: not found or not executable; export KFOLD=/path/to/kfold (an install's" \
    "bin/kfold or a checkout's build/bin/kfold, a path the nodes see)" >&2
  exit 2
}
# One that does not start here (a library it cannot load: exit 127) would fail every array task.
if ! version_error=$("${KFOLD:-kfold}" --version 2>&1 > /dev/null); then
  echo "submit.sh: ${KFOLD:-kfold} does not start: ${version_error}" >&2
  exit 2
fi
# Array ids 0..N-1 must be below the cluster's MaxArraySize (1001 by default), or the second job is refused
# after the first was submitted.
max_array=$(scontrol show config 2> /dev/null | awk -F= '/^MaxArraySize/ {gsub(/ /, "", $2); print $2}') || true
if [[ $max_array =~ ^[0-9]+$ ]]; then
  for name in msa_tasks gpu_tasks; do
    if (( ${!name} > max_array )); then
      echo "submit.sh: ${name^^} ${!name}: more array tasks than this cluster's MaxArraySize $max_array allows" >&2
      exit 2
    fi
  done
fi
read -r -d '' -a msa_opts <<< "${KFOLD_MSA_SBATCH_OPTS:-}" || true  # every line's words (-d ''), not the first's
read -r -d '' -a predict_opts <<< "${KFOLD_PREDICT_SBATCH_OPTS:-}" || true
# This script sets --array (sbatch keeps the last one given: a "%" throttle there was lost); the throttles are
# KFOLD_MSA_MAX_RUNNING and KFOLD_PREDICT_MAX_RUNNING (tasks running at once, "%K" of the --array).
for opt in ${msa_opts[@]+"${msa_opts[@]}"} ${predict_opts[@]+"${predict_opts[@]}"}; do
  if [[ $opt == --array || $opt == --array=* || $opt == -a || $opt == -a* ]]; then
    echo "submit.sh: leave $opt out of KFOLD_*_SBATCH_OPTS: this script sets --array (to run at most K tasks at" \
      "once, set KFOLD_MSA_MAX_RUNNING=K or KFOLD_PREDICT_MAX_RUNNING=K)" >&2
    exit 2
  fi
done
for name in KFOLD_MSA_MAX_RUNNING KFOLD_PREDICT_MAX_RUNNING; do
  value="${!name:-}"
  if [[ -n $value && ! $value =~ ^[1-9][0-9]{0,5}$ ]]; then
    echo "submit.sh: $name '$value': expected a whole number of tasks running at once, 1 to 999999" >&2
    exit 2
  fi
done
msa_array="0-$((msa_tasks - 1))${KFOLD_MSA_MAX_RUNNING:+%$KFOLD_MSA_MAX_RUNNING}"
predict_array="0-$((gpu_tasks - 1))${KFOLD_PREDICT_MAX_RUNNING:+%$KFOLD_PREDICT_MAX_RUNNING}"
# The jobs' environment: this one's (ALL), KFOLD exported too when it was given to this script alone
# (KFOLD=... submit.sh). Not as ALL,KFOLD=PATH: sbatch splits that list at commas (a path with one broke it).
[[ -z ${KFOLD:-} ]] || export KFOLD
export_msa="ALL,KFOLD_SHARDS=$msa_tasks"
export_predict="ALL,KFOLD_SHARDS=$gpu_tasks"
# KFOLD_SHARDS fixes each task's shard to its array id, so that resubmitting some tasks later
# (KFOLD_SHARDS=200 sbatch --array=17,42 msa_array.sbatch ...) runs the same shards.
msa_job=$(sbatch --parsable ${msa_opts[@]+"${msa_opts[@]}"} --array="$msa_array" \
  --export="$export_msa" "$here/msa_array.sbatch" "$targets" "$out" "$db" "$@")
msa_job="${msa_job%%;*}"  # --parsable prints "id;cluster" on multi-cluster setups
if ! gpu_job=$(sbatch --parsable ${predict_opts[@]+"${predict_opts[@]}"} --array="$predict_array" \
  --export="$export_predict" --dependency="afterany:$msa_job" \
  "$here/predict_array.sbatch" "$targets" "$out" "$@"); then
  # The whole command: without --array and KFOLD_SHARDS the job would be one task of shard 0/1 (every target).
  # (KFOLD=PATH first when it is set, so that it works from any shell.)
  printf -v predict_command '%q ' ${KFOLD:+"KFOLD=$KFOLD"} sbatch ${predict_opts[@]+"${predict_opts[@]}"} \
    --array="$predict_array" --export="$export_predict" --dependency="afterany:$msa_job" "$here/predict_array.sbatch" \
    "$targets" "$out" "$@"
  echo "submit.sh: the predict array job was not submitted; the MSA array job $msa_job was: scancel $msa_job," \
    "or submit the predict stage yourself: $predict_command" >&2
  exit 1
fi
gpu_job="${gpu_job%%;*}"
echo "MSA array job $msa_job ($msa_tasks tasks), predict array job $gpu_job ($gpu_tasks tasks)"
echo "progress: $out/summary.tsv"
