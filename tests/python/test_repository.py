"""Repository rules that keep the test suite honest and the code readable:
CTest can run every doctest case, every source file opens with a comment saying what it is, is
formatted by the repository's .clang-format, and no file grows past the size where it should be split."""
import re
import shutil
import subprocess

from conftest import SOURCE_DIR

SOURCE_GLOBS = ["data/*.[ch]pp", "msa/*.[ch]pp", "kernels/*.[ch]pp", "kernels/*.cu", "fold/*.[ch]pp",
                "pipelines/**/*.[ch]pp", "tests/**/*.[ch]pp"]


def sources():
    for pattern in SOURCE_GLOBS:
        yield from SOURCE_DIR.glob(pattern)


def test_doctest_case_names_survive_ctest_discovery():
    # doctest_discover_tests splits names on ';' and mangles '[' / ']': such a case would be
    # registered under a name that matches no test and "pass" without running.
    bad = []
    for path in SOURCE_DIR.glob("tests/**/*.cpp"):
        # The name may start on the next line (clang-format breaks long ones there).
        for name in re.findall(r'TEST_CASE\(\s*"((?:[^"\\]|\\.)*)"\s*\)', path.read_text()):
            if re.search(r"[;\[\]]", name):
                bad.append(f"{path.relative_to(SOURCE_DIR)}: {name}")
    assert not bad, "rename these test cases:\n" + "\n".join(bad)


def test_every_source_file_opens_with_a_comment():
    missing = [str(p.relative_to(SOURCE_DIR)) for p in sources() if not p.read_text().startswith("//")]
    assert not missing, "add a 1-3 line header comment to:\n" + "\n".join(missing)


def test_every_cpp_file_follows_clang_format():
    """One .clang-format, applied to every file (eight files had drifted). clang-format-14 is
    installed by scripts/setup (scripts/deps/apt.txt): other versions format some constructs differently."""
    clang_format = shutil.which("clang-format-14")
    assert clang_format, "clang-format-14 is missing: run scripts/setup"
    files = sorted(str(p.relative_to(SOURCE_DIR)) for folder in ("data", "msa", "kernels", "fold", "pipelines", "tests")
                   for p in (SOURCE_DIR / folder).rglob("*") if p.suffix in (".cpp", ".hpp", ".cu", ".cuh", ".h", ".c"))
    run = subprocess.run([clang_format, "--dry-run", "--Werror", *files], cwd=SOURCE_DIR, capture_output=True,
                         text=True)
    drifted = sorted({line.split(":")[0] for line in run.stderr.splitlines() if ": error:" in line})
    assert run.returncode == 0 and not drifted, "run clang-format-14 -i on:\n" + "\n".join(drifted or [run.stderr])


def test_no_source_file_over_800_lines():
    long = [f"{p.relative_to(SOURCE_DIR)}: {n}" for p in sources()
            if (n := p.read_text().count("\n")) > 800]
    assert not long, "split these files:\n" + "\n".join(long)


def test_every_script_answers_help_without_side_effects(tmp_path):
    """Every user-facing command has --help: each executable in scripts/ prints its usage and exits 0 at once,
    before it looks for data, builds or installs anything."""
    import os
    import subprocess

    silent = []
    for script in sorted((SOURCE_DIR / "scripts").iterdir()):
        if not script.is_file() or not os.access(script, os.X_OK) or script.suffix == ".py":
            continue
        run = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                             stdin=subprocess.DEVNULL)
        if run.returncode != 0 or len(run.stdout.splitlines()) < 3:
            silent.append(f"{script.name}: exit {run.returncode}, {len(run.stdout.splitlines())} lines")
    assert not silent, "give these scripts a --help:\n" + "\n".join(silent)
    assert list(tmp_path.iterdir()) == []
