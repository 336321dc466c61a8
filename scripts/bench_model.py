#!/usr/bin/env python3
"""Helpers for scripts/bench_model: the AlphaFold reference side (JAX on CPU, run in the
reference venv) and the bookkeeping (run in any python3).

  bench_model.py block --n-res L --n-seq N [--repeats R] [--threads T] [--profile]
      one EvoformerIteration of model_1_ptm (full-size channels), haiku + jit; one JSON line
  bench_model.py features --n-res L --n-msa N --clusters C --extra E [--recycles 1] [--seed 0] --out F.npz
      processed features of a synthetic query with AlphaFold's input pipeline (features.np_example_to_features):
      the query plus N-1 mutated copies, C cluster rows and E extra rows, leading recycling axis
  bench_model.py model --features F.npz [--threads T]
      modules.AlphaFold (model_1_ptm) with random parameters, jit, one apply per iteration; one JSON line
  bench_model.py run [--meta JSON] -- COMMAND...
      runs COMMAND, one JSON line: wall seconds, the child's peak RSS (wait4), and when each stderr line that
      contains 'iteration' arrived (kfold predict's per-iteration log)
  bench_model.py table FILE.jsonl
      the tables (medians over repeats, ratios) from the JSON lines the other commands printed

Reference deviations (as in scripts/make_fixture_fold_modules.py): bfloat16 off (both sides fp32), DeepMind's
unfused triangle-multiplication weights, no Pallas kernels, templates off. (kfold embeds templates, checked against
the reference in tests/fixtures/alphafold_model's `templates` case; here the synthetic query has no structures to
use as templates, so the features carry none and both sides run model_1_ptm template-free, as AlphaFold does
when no template is found: the timings leave out the template stack.)
global_config.subbatch_size stays the preset's 4 (AlphaFold's inference default); --subbatch changes it.
Peak RSS: 'run' peak = highest RSS while running (after jit compile and weight construction; /proc/self/clear_refs
resets the high-water mark there), 'process' peak = the high-water mark before that reset (compile included); the
whole-model table's JAX peak is the larger of the two, as kfold's is its whole process's.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time


def set_threads(threads):
    """XLA's CPU thread pools; must run before jax is imported.

    XLA has no thread-count flag ('intra_op_parallelism_threads=N' in XLA_FLAGS, often suggested, is silently
    ignored): its pools are sized by the CPUs the process may run on, so the process is restricted to `threads`
    of them (the first ones allowed; scripts/bench_model pins kfold's runs to the same CPUs)."""
    if threads > 0:
        allowed = sorted(os.sched_getaffinity(0))
        if threads < len(allowed):
            os.sched_setaffinity(0, allowed[:threads])
        os.environ['OMP_NUM_THREADS'] = str(threads)


def vm_kb(key):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1])
    return 0


def reset_peak_rss():
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
    except OSError:
        pass


def reference_config(subbatch):
    from alphafold.model import config as af_config
    cfg = af_config.model_config('model_1_ptm')
    gc = cfg.model.global_config
    gc.bfloat16, gc.zero_init, gc.deterministic = False, False, True
    gc.use_pallas = False
    if subbatch is not None:
        gc.subbatch_size = subbatch
    e = cfg.model.embeddings_and_evoformer
    for name in ('triangle_multiplication_outgoing', 'triangle_multiplication_incoming'):
        e.evoformer[name].fuse_projection_weights = False
    e.template.enabled = False
    e.template.embed_torsion_angles = False
    cfg.data.common.use_templates = False
    cfg.data.common.reduce_msa_clusters_by_max_templates = False
    return cfg


def random_params(shapes, seed):
    """Random parameters of the given shapes (values do not matter for timing; scaled to stay finite)."""
    import jax
    import numpy as np
    rng = np.random.default_rng(seed)

    def make(s):
        fan_in = s.shape[-2] if len(s.shape) >= 2 else 1
        return (rng.standard_normal(s.shape, np.float32) / np.sqrt(fan_in)).astype(s.dtype)
    return jax.tree_util.tree_map(make, shapes)


def cmd_block(a):
    set_threads(a.threads)
    import haiku as hk
    import jax
    import numpy as np
    from alphafold.model import modules, prng
    jax.config.update('jax_platform_name', 'cpu')
    cfg = reference_config(a.subbatch)
    e, gc = cfg.model.embeddings_and_evoformer, cfg.model.global_config
    c_m, c_z = e.msa_channel, e.pair_channel
    rng = np.random.default_rng(0)
    msa = rng.standard_normal((a.n_seq, a.n_res, c_m), np.float32)
    pair = rng.standard_normal((a.n_res, a.n_res, c_z), np.float32)
    msa_mask, pair_mask = np.ones((a.n_seq, a.n_res), np.float32), np.ones((a.n_res, a.n_res), np.float32)
    key = jax.random.PRNGKey(0)

    def block(m, z, mm, zm):
        mod = modules.EvoformerIteration(e.evoformer, gc, is_extra_msa=False, name='evoformer_iteration')
        out = mod({'msa': m, 'pair': z}, {'msa': mm, 'pair': zm}, is_training=False, safe_key=prng.SafeKey(key))
        return out['msa'], out['pair']

    f = hk.transform(block)
    params = random_params(jax.eval_shape(f.init, key, msa, pair, msa_mask, pair_mask), 0)
    # On the device once: numpy arguments would be converted again in every timed call (kfold's are tensors).
    params, msa, pair, msa_mask, pair_mask = jax.device_put((params, msa, pair, msa_mask, pair_mask))
    rss_before = vm_kb('VmRSS') / 1024
    t0 = time.perf_counter()
    apply = jax.jit(f.apply).lower(params, key, msa, pair, msa_mask, pair_mask).compile()
    compile_s = time.perf_counter() - t0
    process_peak = vm_kb('VmHWM') / 1024
    reset_peak_rss()
    t0 = time.perf_counter()
    jax.block_until_ready(apply(params, key, msa, pair, msa_mask, pair_mask))
    warmup_ms = (time.perf_counter() - t0) * 1e3
    times = []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(apply(params, key, msa, pair, msa_mask, pair_mask))
        times.append((time.perf_counter() - t0) * 1e3)
    peak = vm_kb('VmHWM') / 1024
    modules_ms = profile_block(a, cfg, msa, pair, msa_mask, pair_mask) if a.profile else {}
    print(f'JAX evoformer block: n_res {a.n_res}, n_seq {a.n_seq}, median {statistics.median(times):.1f} ms, '
          f'compile {compile_s:.1f} s, run peak RSS {peak:.0f} MB', file=sys.stderr)
    print(json.dumps({'kind': 'block', 'side': 'jax', 'n_res': a.n_res, 'n_seq': a.n_seq, 'c_m': c_m, 'c_z': c_z,
                      'threads': a.threads, 'subbatch': gc.subbatch_size, 'times_ms': times,
                      'median_ms': statistics.median(times), 'warmup_ms': warmup_ms, 'compile_s': compile_s,
                      'peak_rss_mb': peak, 'process_peak_rss_mb': process_peak, 'rss_before_mb': rss_before,
                      'modules_ms': modules_ms}), flush=True)


def profile_block(a, cfg, msa, pair, msa_mask, pair_mask):
    """Each module of the block jitted and timed on its own (residual added, as in the block)."""
    import haiku as hk
    import jax
    from alphafold.model import modules
    e, gc = cfg.model.embeddings_and_evoformer, cfg.model.global_config
    c = e.evoformer
    steps = [
        ('msa_row_attention_with_pair_bias', 'msa',
         lambda: modules.MSARowAttentionWithPairBias(c.msa_row_attention_with_pair_bias, gc,
                                                     name='msa_row_attention_with_pair_bias'),
         lambda mod, m, z: mod(m, msa_mask, pair_act=z, is_training=False)),
        ('msa_column_attention', 'msa',
         lambda: modules.MSAColumnAttention(c.msa_column_attention, gc, name='msa_column_attention'),
         lambda mod, m, z: mod(m, msa_mask, is_training=False)),
        ('msa_transition', 'msa', lambda: modules.Transition(c.msa_transition, gc, name='msa_transition'),
         lambda mod, m, z: mod(m, msa_mask, is_training=False)),
        ('outer_product_mean', 'pair',
         lambda: modules.OuterProductMean(c.outer_product_mean, gc, int(z_dim(pair)), name='outer_product_mean'),
         lambda mod, m, z: mod(m, msa_mask, is_training=False)),
        ('triangle_multiplication_outgoing', 'pair',
         lambda: modules.TriangleMultiplication(c.triangle_multiplication_outgoing, gc,
                                                name='triangle_multiplication_outgoing'),
         lambda mod, m, z: mod(z, pair_mask, is_training=False)),
        ('triangle_multiplication_incoming', 'pair',
         lambda: modules.TriangleMultiplication(c.triangle_multiplication_incoming, gc,
                                                name='triangle_multiplication_incoming'),
         lambda mod, m, z: mod(z, pair_mask, is_training=False)),
        ('triangle_attention_starting_node', 'pair',
         lambda: modules.TriangleAttention(c.triangle_attention_starting_node, gc,
                                           name='triangle_attention_starting_node'),
         lambda mod, m, z: mod(z, pair_mask, is_training=False)),
        ('triangle_attention_ending_node', 'pair',
         lambda: modules.TriangleAttention(c.triangle_attention_ending_node, gc,
                                           name='triangle_attention_ending_node'),
         lambda mod, m, z: mod(z, pair_mask, is_training=False)),
        ('pair_transition', 'pair', lambda: modules.Transition(c.pair_transition, gc, name='pair_transition'),
         lambda mod, m, z: mod(z, pair_mask, is_training=False)),
    ]
    key = jax.random.PRNGKey(0)
    out = {}
    m, z = msa, pair
    for name, target, make, call in steps:
        def fn(m_, z_, make=make, call=call, target=target):
            upd = call(make(), m_, z_)
            return m_ + upd if target == 'msa' else z_ + upd
        f = hk.transform(fn)
        params = random_params(jax.eval_shape(f.init, key, m, z), 1)
        apply = jax.jit(f.apply).lower(params, key, m, z).compile()
        res = jax.block_until_ready(apply(params, key, m, z))
        times = []
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            res = jax.block_until_ready(apply(params, key, m, z))
            times.append((time.perf_counter() - t0) * 1e3)
        out[name] = statistics.median(times)
        if target == 'msa':
            m = res
        else:
            z = res
        print(f'  {name:34s} {out[name]:9.1f} ms', file=sys.stderr)
    return out


def z_dim(pair):
    return pair.shape[-1]


def cmd_features(a):
    import numpy as np
    from alphafold.common import residue_constants
    from alphafold.data import parsers, pipeline
    from alphafold.model import features
    from alphafold.model.tf import utils
    cfg = reference_config(None)
    cfg.data.eval.max_msa_clusters = a.clusters
    cfg.data.common.max_extra_msa = a.extra
    cfg.data.common.num_recycle = a.recycles
    cfg.model.num_recycle = a.recycles
    rng = np.random.default_rng(a.seed)
    letters = residue_constants.restypes  # the 20 standard amino acids
    query = ''.join(rng.choice(letters, a.n_res))
    rows = [query]
    for _ in range(a.n_msa - 1):  # mutated copies (25% substitutions, 5% gaps)
        r = rng.random(a.n_res)
        rows.append(''.join('-' if x < 0.05 else (rng.choice(letters) if x < 0.30 else q)
                            for q, x in zip(query, r)))
    msa = parsers.Msa(sequences=rows, deletion_matrix=[[0] * a.n_res for _ in rows],
                      descriptions=[f'row{i}' for i in range(len(rows))])
    raw = {**pipeline.make_sequence_features(query, 'bench', a.n_res), **pipeline.make_msa_features([msa])}
    utils.seed_maker.next_seed = 0
    feats = {k: np.asarray(v) for k, v in features.np_example_to_features(raw, cfg, a.seed).items()}
    np.savez(a.out, **feats)
    with open(a.out + '.fasta', 'w') as f:
        f.write(f'>bench_{a.n_res}\n{query}\n')
    print(f'features: n_res {a.n_res}, msa_feat {feats["msa_feat"].shape}, extra_msa {feats["extra_msa"].shape}',
          file=sys.stderr)


def cmd_model(a):
    set_threads(a.threads)
    import haiku as hk
    import jax
    import jax.numpy as jnp
    import numpy as np
    from alphafold.model import modules
    jax.config.update('jax_platform_name', 'cpu')
    feats = dict(np.load(a.features))
    n_iter, n_res = feats['aatype'].shape[:2]
    cfg = reference_config(a.subbatch)
    cfg.model.num_recycle = n_iter - 1
    e = cfg.model.embeddings_and_evoformer

    def forward(batch):
        return modules.AlphaFold(cfg.model)(batch, is_training=False)

    f = hk.transform(forward)
    key = jax.random.PRNGKey(0)
    prev = {'prev_pos': jnp.zeros([n_res, 37, 3]), 'prev_msa_first_row': jnp.zeros([n_res, e.msa_channel]),
            'prev_pair': jnp.zeros([n_res, n_res, e.pair_channel])}

    def batch(r, prev):
        return {**{k: jnp.asarray(v[r:r + 1]) for k, v in feats.items()}, 'prev': dict(prev)}

    params = jax.device_put(random_params(jax.eval_shape(f.init, key, batch(0, prev)), 0))  # once, not per call
    rss_before = vm_kb('VmRSS') / 1024
    t0 = time.perf_counter()
    apply = jax.jit(f.apply).lower(params, key, batch(0, prev)).compile()
    compile_s = time.perf_counter() - t0
    process_peak = vm_kb('VmHWM') / 1024
    reset_peak_rss()
    times = []
    for r in range(n_iter):
        t0 = time.perf_counter()
        ret = jax.block_until_ready(apply(params, key, batch(r, prev)))
        times.append(time.perf_counter() - t0)
        prev = ret['prev']
    peak = vm_kb('VmHWM') / 1024
    print(f'JAX model: n_res {n_res}, iterations {n_iter}: {", ".join(f"{t:.1f}" for t in times)} s, '
          f'compile {compile_s:.1f} s, run peak RSS {peak:.0f} MB', file=sys.stderr)
    print(json.dumps({'kind': 'model', 'side': 'jax', 'n_res': int(n_res), 'msa_rows': int(feats['msa_feat'].shape[1]),
                      'extra_rows': int(feats['extra_msa'].shape[1]), 'threads': a.threads,
                      'iteration_s': times, 'total_s': sum(times), 'compile_s': compile_s, 'peak_rss_mb': peak,
                      'process_peak_rss_mb': process_peak, 'rss_before_mb': rss_before}), flush=True)


ITERATION_DONE = re.compile(r': iteration \d+/\d+ mean pLDDT')  # kfold's log line at each iteration's end


def cmd_run(a):
    cmd = a.command[1:] if a.command and a.command[0] == '--' else a.command
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    marks, tail = [], []
    for line in proc.stderr:
        now = time.perf_counter() - t0
        tail = (tail + [line])[-20:]
        if ITERATION_DONE.search(line):  # (not the progress lines a long iteration prints, which name it too)
            marks.append(now)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.stderr.write(''.join(tail))
        sys.exit(f'{cmd[0]} failed ({os.waitstatus_to_exitcode(status)})')
    print(json.dumps({**json.loads(a.meta), 'wall_s': wall, 'peak_rss_mb': usage.ru_maxrss / 1024,
                      'iteration_marks_s': marks}), flush=True)


def cmd_table(a):
    rows = [json.loads(line) for line in open(a.file) if line.strip().startswith('{')]
    med = statistics.median
    blocks = [r for r in rows if r.get('kind') == 'block']
    if blocks:
        print('One Evoformer block (model_1_ptm channels: c_m 256, c_z 128), fp32, medians over repeats')
        print('peak = highest RSS during the forward passes; extra = peak - RSS before them (weights, inputs and the\n'
              'runtime loaded: kfold ~0.4 GB of libtorch/CUDA libraries, JAX ~0.25 GB)')
        print(f'{"L":>5} {"N_seq":>5} | {"kfold ms":>9} {"JAX ms":>9} {"JAX/kfold":>9} | {"kfold MB":>9} {"JAX MB":>9} '
              f'{"JAX/kfold":>9} | {"kfold +MB":>9} {"JAX +MB":>9} {"JAX/kfold":>9}')
        for n in sorted({r['n_res'] for r in blocks}):
            k = [r for r in blocks if r['n_res'] == n and r['side'] == 'kfold']
            j = [r for r in blocks if r['n_res'] == n and r['side'] == 'jax']
            if not k or not j:
                continue
            kt, jt = med([r['median_ms'] for r in k]), med([r['median_ms'] for r in j])
            km, jm = med([r['peak_rss_mb'] for r in k]), med([r['peak_rss_mb'] for r in j])
            kx = med([r['peak_rss_mb'] - r['rss_before_mb'] for r in k])
            jx = med([r['peak_rss_mb'] - r['rss_before_mb'] for r in j])
            print(f'{n:5d} {k[0]["n_seq"]:5d} | {kt:9.0f} {jt:9.0f} {jt / kt:8.2f}x | {km:9.0f} {jm:9.0f} '
                  f'{jm / km:8.2f}x | {kx:9.0f} {jx:9.0f} {jx / kx:8.2f}x')
        print('(ratios > 1: kfold faster / smaller; each cell the median over rounds of per-process medians)')
        profiled = [r for r in blocks if r.get('modules_ms')]
        for n in sorted({r['n_res'] for r in profiled}):
            k = [r['modules_ms'] for r in profiled if r['n_res'] == n and r['side'] == 'kfold']
            j = [r['modules_ms'] for r in profiled if r['n_res'] == n and r['side'] == 'jax']
            if not k or not j:
                continue
            print(f'\nPer module at L = {n} (each module timed on its own; ms, medians)')
            print(f'{"module":34s} {"kfold":>9} {"JAX":>9} {"JAX/kfold":>9}')
            for name in k[0]:
                kt, jt = med([x[name] for x in k]), med([x[name] for x in j])
                print(f'{name:34s} {kt:9.1f} {jt:9.1f} {jt / kt:8.2f}x')
    models = [r for r in rows if r.get('kind') == 'model']
    if models:
        print('\nWhole model (model_1_ptm, random weights, 1 recycle = 2 iterations), fp32, medians over repeats')
        print(f'{"L":>5} {"rows":>9} | {"kfold it s":>10} {"JAX it s":>9} {"JAX/kfold":>9} | {"kfold wall":>10} '
              f'{"JAX total":>9} | {"kfold MB":>9} {"JAX MB":>9} {"JAX/kfold":>9} | {"JAX compile s":>13}')
        for n in sorted({r['n_res'] for r in models}):
            k = [r for r in models if r['n_res'] == n and r['side'] == 'kfold']
            j = [r for r in models if r['n_res'] == n and r['side'] == 'jax']
            if not k or not j:
                continue
            # Steady-state iteration on both sides: the last one (kfold: between its last two log lines; JAX: its
            # last apply). A median over JAX's applies took in the first, cold one (with 2 iterations: their mean).
            kit = med([r['iteration_marks_s'][-1] - r['iteration_marks_s'][-2] for r in k])
            jit = med([r['iteration_s'][-1] for r in j])
            kw, jw = med([r['wall_s'] for r in k]), med([r['total_s'] + r['compile_s'] for r in j])
            # Process peaks on both sides: kfold's from wait4; JAX's the larger of compile's and the run's.
            km = med([r['peak_rss_mb'] for r in k])
            jm = med([max(r['peak_rss_mb'], r.get('process_peak_rss_mb', 0)) for r in j])
            rows_s = f'{j[0]["msa_rows"]}+{j[0]["extra_rows"]}'
            print(f'{n:5d} {rows_s:>9} | {kit:10.1f} {jit:9.1f} {jit / kit:8.2f}x | {kw:10.1f} {jw:9.1f} | '
                  f'{km:9.0f} {jm:9.0f} {jm / km:8.2f}x | {med([r["compile_s"] for r in j]):13.1f}')
        parts = [r for r in rows if r.get('kind') == 'model_part']
        if parts:
            print('\nWhere a kfold iteration goes (one block timed alone, times the stack depth; rest = embeddings, '
                  'structure module, heads)')
            print(f'{"L":>5} | {"iteration s":>11} | {"48 x Evoformer":>14} {"4 x extra-MSA":>13} {"rest":>8}')
        for n in sorted({r['n_res'] for r in parts}):
            k = [r for r in models if r['n_res'] == n and r['side'] == 'kfold']
            main = [r['median_ms'] for r in parts if r['n_res'] == n and not r['extra_msa']]
            ext = [r['median_ms'] for r in parts if r['n_res'] == n and r['extra_msa']]
            if not k or not main or not ext:
                continue
            kit = med([r['iteration_marks_s'][-1] - r['iteration_marks_s'][-2] for r in k])
            ev, ex = 48 * med(main) / 1e3, 4 * med(ext) / 1e3
            print(f'{n:5d} | {kit:11.1f} | {ev:8.1f} ({ev / kit:3.0%}) {ex:7.1f} ({ex / kit:3.0%}) '
                  f'{kit - ev - ex:8.1f}')
            if ev + ex > kit:  # the blocks were timed after the model ran, so a change of load shows here
                print(f'      the parts exceed the iteration ({ev + ex:.1f} s > {kit:.1f} s): the machine\'s load '
                      'changed between the two timings; rerun on an idle machine for this breakdown')


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='cmd', required=True)
    b = sub.add_parser('block')
    b.add_argument('--n-res', type=int, required=True)
    b.add_argument('--n-seq', type=int, default=128)
    b.add_argument('--repeats', type=int, default=3)
    b.add_argument('--threads', type=int, default=0)
    b.add_argument('--subbatch', type=int, default=None)
    b.add_argument('--profile', action='store_true')
    f = sub.add_parser('features')
    f.add_argument('--n-res', type=int, required=True)
    f.add_argument('--n-msa', type=int, default=192)
    f.add_argument('--clusters', type=int, default=64)
    f.add_argument('--extra', type=int, default=128)
    f.add_argument('--recycles', type=int, default=1)
    f.add_argument('--seed', type=int, default=0)
    f.add_argument('--out', required=True)
    m = sub.add_parser('model')
    m.add_argument('--features', required=True)
    m.add_argument('--threads', type=int, default=0)
    m.add_argument('--subbatch', type=int, default=None)
    r = sub.add_parser('run')
    r.add_argument('--meta', default='{}', help='JSON object merged into the output line')
    r.add_argument('command', nargs=argparse.REMAINDER)
    t = sub.add_parser('table')
    t.add_argument('file')
    a = p.parse_args()
    {'block': cmd_block, 'features': cmd_features, 'model': cmd_model, 'run': cmd_run, 'table': cmd_table}[a.cmd](a)


if __name__ == '__main__':
    main()
