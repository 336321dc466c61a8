"""scripts/slurm/: submit.sh with a fake sbatch and scontrol (task counts, each job's sbatch options, the kfold
binary and MaxArraySize checked before anything is submitted) and predict_array.sbatch's exit codes, usage and
signals (the scripts ran under a real single-node Slurm too: README, Batch runs on a cluster)."""
import os
import shutil
import signal
import subprocess

from conftest import BUILD_DIR, SOURCE_DIR, wait_for_line
from test_batch import TARGETS


def test_submit_checks_its_task_counts_before_submitting(tmp_path):
    """scripts/slurm/submit.sh with a fake sbatch: counts are decimal ("010" is 10 tasks, it was octal 8 for
    --array and 10 for KFOLD_SHARDS), bad ones exit 2 before any job is submitted, "id;cluster" is an id."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls.txt"
    (bin_dir / "sbatch").write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\necho "123;cluster1"\n')
    (bin_dir / "sbatch").chmod(0o755)
    (bin_dir / "scontrol").write_text('#!/bin/sh\necho "MaxArraySize            = 1001"\n')  # Slurm's default
    (bin_dir / "scontrol").chmod(0o755)
    script = SOURCE_DIR / "scripts/slurm/submit.sh"
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", KFOLD=str(BUILD_DIR / "bin" / "kfold"))

    (tmp_path / "t.csv").write_text("id,sequence\nt,MKV\n")
    (tmp_path / "db").write_text(">d\nMKV\n")

    def submit(*counts, environment=env, targets="t.csv"):
        return subprocess.run([shutil.which("bash"), str(script), targets, "out dir", "db", *counts], env=environment,
                              capture_output=True, text=True, timeout=60, cwd=tmp_path)

    run = submit("010", "2")
    assert run.returncode == 0, run.stderr
    msa_call, predict_call = calls.read_text().splitlines()
    assert "--array=0-9" in msa_call and "KFOLD_SHARDS=10" in msa_call
    assert "--array=0-1" in predict_call and "--dependency=afterany:123 " in predict_call
    assert "MSA array job 123 (10 tasks), predict array job 123 (2 tasks)" in run.stdout
    calls.unlink()
    # Each job's own sbatch options (a CPU partition for one, GPUs for the other).
    run = submit("2", "2", environment=dict(env, KFOLD_MSA_SBATCH_OPTS="--partition=cpu \n --cpus-per-task=4",
                                            KFOLD_PREDICT_SBATCH_OPTS="--gres=gpu:4"))
    assert run.returncode == 0, run.stderr
    msa_call, predict_call = calls.read_text().splitlines()
    assert msa_call.startswith("--parsable --partition=cpu --cpus-per-task=4 --array=0-1") and "gpu" not in msa_call
    assert predict_call.startswith("--parsable --gres=gpu:4 --array=0-1") and "partition" not in predict_call
    assert "--export=ALL,KFOLD_SHARDS=2 " in predict_call
    calls.unlink()
    # Throttles: "%K" of each --array (one in the sbatch options was overridden by the script's --array: refused).
    run = submit("4", "2", environment=dict(env, KFOLD_MSA_MAX_RUNNING="2", KFOLD_PREDICT_MAX_RUNNING="1"))
    assert run.returncode == 0, run.stderr
    msa_call, predict_call = calls.read_text().splitlines()
    assert "--array=0-3%2 " in msa_call and "--array=0-1%1 " in predict_call and "KFOLD_SHARDS=4" in msa_call
    calls.unlink()
    for variables, word in (({"KFOLD_MSA_SBATCH_OPTS": "--array=0-3%2"}, "leave --array=0-3%2 out"),
                            ({"KFOLD_PREDICT_MAX_RUNNING": "0"}, "KFOLD_PREDICT_MAX_RUNNING '0'")):
        run = submit("4", "2", environment=dict(env, **variables))
        assert run.returncode == 2 and word in run.stderr and not calls.exists(), run.stderr
    # A kfold path with a comma reaches the jobs whole (as --export=ALL,KFOLD=PATH sbatch split it at the comma),
    # and the printed fallback command, when the second job is refused, sets it.
    comma = tmp_path / "k,fold dir"
    comma.mkdir()
    (comma / "kfold").symlink_to(BUILD_DIR / "bin" / "kfold")
    (bin_dir / "sbatch").write_text(f'#!/bin/sh\necho "$KFOLD | $@" >> "{calls}"\n'
                                    f'[ "$(wc -l < "{calls}")" -lt 2 ] || exit 1\necho 123\n')
    run = submit("2", "2", environment=dict(env, KFOLD=str(comma / "kfold")))
    assert run.returncode == 1 and "the predict array job was not submitted" in run.stderr
    msa_call, predict_call = calls.read_text().splitlines()
    assert msa_call.startswith(f"{comma / 'kfold'} | ") and "--export=ALL,KFOLD_SHARDS=2 " in msa_call
    fallback = run.stderr.split("submit the predict stage yourself: ")[1].strip()
    assert fallback.startswith("KFOLD=") and " sbatch --array=0-1 --export=ALL" in fallback
    fallback_run = subprocess.run(["bash", "-c", f"{fallback} > /dev/null"], env=dict(env, KFOLD=""), cwd=tmp_path)
    assert fallback_run.returncode == 1 and calls.read_text().splitlines()[2].startswith(f"{comma / 'kfold'} | ")
    calls.unlink()
    (bin_dir / "sbatch").write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\necho "123;cluster1"\n')
    # No kfold binary: both jobs failed at once (exit 127); more tasks than MaxArraySize: the second was refused.
    run = submit("2", "2", environment=dict(env, KFOLD=str(tmp_path / "no-kfold")))
    assert run.returncode == 2 and "no-kfold: not found or not executable" in run.stderr and not calls.exists()
    # One that cannot start (a library its RUNPATH does not reach here: exit 127) failed every array task.
    broken = tmp_path / "broken-kfold"
    broken.write_text("#!/bin/sh\necho 'kfold: error while loading shared libraries: libtorch.so' >&2\nexit 127\n")
    broken.chmod(0o755)
    run = submit("2", "2", environment=dict(env, KFOLD=str(broken)))
    assert run.returncode == 2 and "broken-kfold does not start: kfold: error while loading shared libraries" in \
        run.stderr and not calls.exists()
    run = submit("2", "1002")
    assert run.returncode == 2 and "GPU_TASKS 1002: more array tasks than this cluster's MaxArraySize 1001" in run.stderr
    assert not calls.exists()
    run = submit("2", "2", targets="missing.csv")  # (it was found only when every task had failed on it)
    assert run.returncode == 2 and "TARGETS missing.csv: not found" in run.stderr and not calls.exists()
    for counts, word in ((("abc", "2"), "MSA_TASKS 'abc'"), (("4", "0"), "GPU_TASKS '0'"),
                         (("-3", "2"), "MSA_TASKS '-3'"), (("2.5", "2"), "MSA_TASKS '2.5'"),
                         (("2", "2", "--device", "cuda:1"), "leave --device out"),
                         (("2", "2", "--shard", "0/1"), "leave --shard out: the array jobs set it"),
                         (("2", "2", "--stage=predict"), "leave --stage out"),
                         (("2", "2", "-oelsewhere"), "leave -oelsewhere out"),  # kfold takes -oDIR as -o DIR
                         (("2", "2", "-qo", "elsewhere"), "leave -qo out")):
        run = submit(*counts)
        assert run.returncode == 2 and word in run.stderr, (counts, run.stderr)
        assert not calls.exists(), counts  # nothing submitted
    # A PATH with dirname alone (the script needs it): never a real sbatch, wherever SLURM is installed.
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "dirname").symlink_to(shutil.which("dirname"))
    run = submit("2", "2", environment=dict(os.environ, PATH=str(bare)))
    assert run.returncode == 2 and "sbatch not found" in run.stderr, run.stderr


def test_predict_array_sbatch_exit_codes_and_usage(tmp_path):
    """The GPU job's exit code: a failure of one worker (3) is not hidden by another's 'still held' (4); missing
    arguments give the usage and exit 2; SLURM_GPUS_ON_NODE=0 runs one worker (it divided by zero); the workers
    share the job's memory request."""
    script = SOURCE_DIR / "scripts/slurm/predict_array.sbatch"
    fake = tmp_path / "kfold"
    fake.write_text('#!/bin/sh\ncase "$*" in *cuda:0*) exit 4;; *cuda:1*) exit 3;; esac\nexit 0\n')
    fake.chmod(0o755)

    def job(*args, **env):
        return subprocess.run(["bash", str(script), *args], env=dict(os.environ, KFOLD=str(fake), **env),
                              capture_output=True, text=True, timeout=60)

    assert job("t.csv", "out", SLURM_GPUS_ON_NODE="2").returncode == 3
    assert job("t.csv", "out", SLURM_GPUS_ON_NODE="1").returncode == 4
    assert job("t.csv", "out", SLURM_GPUS_ON_NODE="0").returncode == 4
    run = job("t.csv")
    assert run.returncode == 2 and "usage:" in run.stderr, run.stderr
    # A worker's own failure (1: it crashed) is not hidden by another's failed targets (3).
    fake.write_text('#!/bin/sh\ncase "$*" in *cuda:0*) exit 3;; *cuda:1*) exit 1;; esac\nexit 0\n')
    assert job("t.csv", "out", SLURM_GPUS_ON_NODE="2").returncode == 1
    # Each worker gets its share of the job's memory request (each saw all of it, less its own resident memory).
    fake.write_text('#!/bin/sh\necho "$*: ${SLURM_MEM_PER_NODE:-unset} ${SLURM_CPUS_ON_NODE:-unset}" >&2\n')
    run = job("t.csv", "out", SLURM_GPUS_ON_NODE="4", SLURM_MEM_PER_NODE="64000", SLURM_CPUS_ON_NODE="16")
    assert run.returncode == 0 and run.stderr.count(": 16000 16") == 4, run.stderr
    run = job("t.csv", "out", SLURM_GPUS_ON_NODE="4", SLURM_MEM_PER_CPU="4000", SLURM_CPUS_ON_NODE="16")
    assert run.returncode == 0 and run.stderr.count(": unset 4") == 4, run.stderr
    # SIGTERM (scancel) and SIGINT reach the background workers, as SIGTERM: each says so and stops.
    # Each worker says when its trap is set (the job's trap is set before the first starts): the signal is sent
    # then, not after a fixed sleep (a job descheduled at its start was killed before its trap: exit -2).
    fake.write_text('#!/bin/bash\ntrap \'echo "worker $* got TERM" >&2; exit 143\' TERM\n'
                    'echo "worker ready" >&2\nwhile true; do sleep 0.1; done\n')
    for sig in (signal.SIGTERM, signal.SIGINT):
        process = subprocess.Popen(["bash", str(script), "t.csv", "out"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True, start_new_session=True,
                                   env=dict(os.environ, KFOLD=str(fake), SLURM_GPUS_ON_NODE="2"))
        try:
            wait_for_line(process, "worker ready")
            wait_for_line(process, "worker ready")
            process.send_signal(sig)
            _, err = process.communicate(timeout=30)
        finally:  # no worker left looping (it would hold ctest's output pipe)
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        assert process.returncode == 143 and err.count("got TERM") == 2, (sig, process.returncode, err)
