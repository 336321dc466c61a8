#!/usr/bin/env python3
"""Helpers for scripts/check_full_size_parity: kfold against AlphaFold (modules.AlphaFold, JAX on CPU) at the full
model_1_ptm size (48 Evoformer blocks, 4 extra-MSA blocks, c_m 256, c_z 128, the preset's heads) with random
parameters that both sides read from one params_model_1_ptm.npz.

  check_full_size_parity.py reference --features F.npz [--params-dir DIR] --out REF.npz [--seed S] [--gain G]
                                      [--backbone-gain B] [--probe EPS] [--threads T] [--bfloat16]
      (reference venv) draws the parameters (seed S), writes DIR/params_model_1_ptm.npz, runs every recycling
      iteration of modules.AlphaFold (jit, one apply per iteration, DeepMind's fp32 recycling) and writes each
      iteration's outputs to REF.npz; with --probe EPS it runs the loop again with every parameter multiplied by
      (1 + EPS N(0, 1)) (EPS about fp32's rounding: how far the reference moves under rounding-sized changes);
      --bfloat16: AlphaFold's bfloat16 trunk (global_config.bfloat16), the reference of kfold's --dtype bf16
  check_full_size_parity.py compare --reference REF.npz [--iteration I] [--report-only] [--recycled-from R.h5]
                                    LABEL=RESULT.h5 ...
      (any python with numpy and h5py) each kfold result_model_1_ptm.h5 against the reference's iteration I
      (default: the last; a RESULT may also be another reference's .npz, e.g. the bfloat16 one): max and mean
      |deviation| of the final atom positions (atom37-masked), pLDDT, PAE and pTM, and of the heads' logits;
      PASS/FAIL against the small-config tolerances (exit 1 on FAIL; results labelled with --report-only, or a
      trailing '~' on the label, are shown but not judged; with --recycled-from kfold's iteration-0 result, the
      loop is judged only if kfold recycles every pseudo-beta pair into the reference's distogram bin)

Parameters. A plain haiku init gives AlphaFold's inference init only with zero_init on, which zeroes every final
projection (each residual update, the structure module's backbone update: positions at the origin); with it off
the gates still have constant weights. So every parameter is drawn here, by its name: weights N(0, G^2/fan_in)
(fan_in: the input dimensions; the leading layer axis of the stacked Evoformer/extra-MSA parameters excluded),
LayerNorm scales 1 + 0.1 N(0, 1), biases, offsets and gate biases 0.1 N(0, 1) (gate biases around 1, IPA's point
weights around softplus^-1(1), as AlphaFold initialises them). Every module starts from a LayerNorm, so with
fan-in scaled weights each residual update is O(1) and the streams grow like the square root of the number of
updates (no blow-up through 48 blocks); the script prints the scales it saw, and refuses trivial outputs
(positions collapsed to a point, constant pLDDT or PAE), which would make the comparison vacuous.

Reference deviations (as in scripts/make_fixture_alphafold_model.py and bench_model.py): bfloat16 off, DeepMind's
unfused triangle-multiplication weights, no Pallas kernels, templates off, zero_init off, fp32 recycling.
"""
import argparse
import json
import os
import sys

import numpy as np

# The small-config test's tolerances (tests/python/test_predict.py, tests/fold/test_alphafold_model.cpp).
TOLERANCES = {'final_atom_positions': 1e-3, 'plddt': 1e-3, 'predicted_aligned_error': 1e-3, 'ptm': 1e-4}
# Logits compared and shown, not judged (no tolerance in the small-config test through the CLI). (The reference's
# modules.AlphaFold replaces the PAE head's logits by the PAE matrix, so those are compared as the matrix only.)
LOGITS = ('distogram/logits', 'predicted_lddt/logits', 'experimentally_resolved/logits', 'masked_msa/logits')
STACKED = ('evoformer_iteration', 'extra_msa_stack')  # hk.layer_stack modules: leading axis = block


def draw_params(shapes, seed, gain=1.0, backbone_gain=0.2):
    """Random parameters of AlphaFold's haiku tree `shapes` ({module: {name: shape-like}}), drawn by name; the
    structure module's backbone update (quaternion and translation, x 10 A) scaled by backbone_gain."""
    rng = np.random.default_rng(seed)
    out = {}
    for module in sorted(shapes):
        out[module] = {}
        for name in sorted(shapes[module]):
            shape = tuple(shapes[module][name].shape)
            layer = shape[1:] if any(s in module for s in STACKED) else shape
            n = rng.standard_normal(shape).astype(np.float32)
            if name == 'scale':
                x = 1 + 0.1 * n
            elif name == 'gating_b':
                x = 1 + 0.1 * n
            elif name == 'trainable_point_weights':
                x = np.log(np.expm1(1.0)) + 0.1 * n
            elif len(layer) <= 1 or name.endswith('_b') or name in ('bias', 'offset'):
                x = 0.1 * n
            else:
                # weights [in.., out]; attention query/key/value/gating [in, heads, c], pair bias [c_z, heads]
                fan_in = layer[0] if name in ('query_w', 'key_w', 'value_w', 'gating_w', 'feat_2d_weights') \
                    else int(np.prod(layer[:-1]))
                x = gain * n / np.sqrt(fan_in)
                if module.endswith('/affine_update'):
                    x = x * backbone_gain
            out[module][name] = x.astype(np.float32)
    return out


def flatten(params):
    """AlphaFold's params_*.npz layout: '<module path>//<name>'."""
    return {f'{m}//{n}': np.asarray(v) for m, d in params.items() for n, v in d.items()}


def bin_margin(aatype, positions, min_bin=3.25, max_bin=20.75, num_bins=15):
    """Smallest distance (A) of a pseudo-beta distance from an edge of the recycling distogram."""
    beta = np.where((aatype == 7)[:, None], positions[:, 1], positions[:, 3])  # CA for glycine, else CB
    d = np.sqrt(((beta[:, None] - beta[None]) ** 2).sum(-1))[np.triu_indices(len(beta), 1)]
    edges = np.linspace(min_bin, max_bin, num_bins)
    return float(np.abs(d[:, None] - edges[None]).min())


def recycled_bins(aatype, positions, min_bin=3.25, max_bin=20.75, num_bins=15):
    """The recycling distogram's bin of every pseudo-beta pair (AlphaFold's dgram_from_positions)."""
    beta = np.where((aatype == 7)[:, None], positions[:, 1], positions[:, 3])
    d2 = ((beta[:, None] - beta[None]) ** 2).sum(-1)
    lower = np.square(np.linspace(min_bin, max_bin, num_bins))
    return (d2[..., None] > lower).sum(-1)


def deviations(ref, got):
    """max and mean |got - ref| per output; positions over the atoms the reference's atom37 mask keeps.

    ref, got: dicts of arrays under AlphaFold's names (final_atom_positions [L, 37, 3], final_atom_mask [L, 37],
    plddt [L], predicted_aligned_error [L, L], ptm scalar, logits). Outputs missing on either side are skipped."""
    out = {}
    for key in ('final_atom_positions', 'plddt', 'predicted_aligned_error', 'ptm') + LOGITS:
        if key not in ref or key not in got:
            continue
        r, g = np.asarray(ref[key], np.float64), np.asarray(got[key], np.float64)
        if r.shape != g.shape:
            raise ValueError(f'{key}: shape {g.shape}, the reference has {r.shape}')
        d = np.abs(g - r)
        if key == 'final_atom_positions':
            mask = np.asarray(ref['final_atom_mask']) > 0.5
            if not np.array_equal(mask, np.asarray(got['final_atom_mask']) > 0.5):
                raise ValueError('final_atom_mask differs from the reference')
            d = d[mask]  # [atoms, 3]
        out[key] = {'max': float(d.max()), 'mean': float(d.mean()), 'scale': float(np.abs(r).max())}
    return out


def verdict(devs, tolerances=TOLERANCES):
    """(passed, [names over tolerance]); an output with a tolerance that was not compared fails."""
    over = [k for k, tol in tolerances.items() if k not in devs or not devs[k]['max'] <= tol]
    return not over, over


def triviality(ref):
    """Reasons the reference outputs would make a vacuous comparison (empty: they are not trivial)."""
    reasons = []
    ca = np.asarray(ref['final_atom_positions'])[:, 1]
    spread = float(np.sqrt(((ca - ca.mean(0)) ** 2).sum(-1).mean()))
    if spread < 1.0:
        reasons.append(f'CA atoms within {spread:.3g} A of their centre')
    if float(np.std(ref['plddt'])) < 0.1:
        reasons.append(f'pLDDT nearly constant (std {float(np.std(ref["plddt"])):.3g})')
    if 'predicted_aligned_error' in ref and float(np.std(ref['predicted_aligned_error'])) < 0.01:
        reasons.append('PAE nearly constant')
    return reasons


def summary(ref):
    ca = np.asarray(ref['final_atom_positions'])[:, 1]
    rg = float(np.sqrt(((ca - ca.mean(0)) ** 2).sum(-1).mean()))
    pl, pae = np.asarray(ref['plddt']), np.asarray(ref.get('predicted_aligned_error', np.zeros(1)))
    return (f'CA radius of gyration {rg:.2f} A, pLDDT {pl.min():.2f}..{pl.max():.2f} (mean {pl.mean():.2f}), '
            f'PAE {pae.min():.2f}..{pae.max():.2f} A, pTM {float(ref.get("ptm", np.nan)):.4f}')


def iteration_outputs(ref_npz, iteration, prefix='it'):
    n = int(ref_npz['n_iterations'])
    i = n - 1 if iteration is None else (iteration + n if iteration < 0 else iteration)
    p = f'{prefix}{i}/'
    return i, {k[len(p):]: ref_npz[k] for k in ref_npz.files if k.startswith(p)}


def read_h5(path):
    if str(path).endswith('.npz'):  # another reference run (--bfloat16): its last iteration
        return iteration_outputs(np.load(path), None)[1]
    import h5py
    out = {}
    with h5py.File(path) as h5:
        for key in ('final_atom_positions', 'final_atom_mask', 'plddt', 'predicted_aligned_error', 'ptm') + LOGITS:
            if key in h5:
                out[key] = h5[key][()]
    return out


def format_table(label, devs):
    lines = [f'{label}']
    for key, d in devs.items():
        tol = TOLERANCES.get(key)
        mark = '' if tol is None else f'  tol {tol:g}  {"ok" if d["max"] <= tol else "OVER"}'
        lines.append(f'  {key:32s} max {d["max"]:10.3e}  mean {d["mean"]:10.3e}  (|ref| up to {d["scale"]:.3g}){mark}')
    return '\n'.join(lines)


def cmd_compare(a):
    ref = np.load(a.reference)
    i, expected = iteration_outputs(ref, a.iteration)
    print(f'reference iteration {i} of {int(ref["n_iterations"])}: {summary(expected)}')
    reasons = triviality(expected)
    if reasons:
        print('FAIL: the reference outputs are trivial, the comparison would be vacuous: ' + '; '.join(reasons))
        return 1
    if f'probe{i}/final_atom_positions' in ref.files:
        _, probe = iteration_outputs(ref, i, 'probe')
        print(format_table(f'reference vs reference with parameters x (1 + {float(ref["probe_eps"]):g} N(0,1)) '
                           '(rounding-sized noise; not judged)', deviations(expected, probe)))
    comparable = True
    if a.recycled_from:  # kfold's iteration 0 of the same loop: is what it recycles in the reference's bins?
        _, first = iteration_outputs(ref, 0)
        flips = int((recycled_bins(ref['aatype'], first['final_atom_positions'])
                     != recycled_bins(ref['aatype'], read_h5(a.recycled_from)['final_atom_positions'])).sum() // 2)
        comparable = flips == 0
        print(f'recycled into iteration 1: kfold puts {flips} pseudo-beta pair(s) in another recycling-distogram bin '
              'than the reference' + ('' if comparable else ': the loops take different inputs from there on, so the '
                                      'loop is shown but not judged (iteration 0 is)'))
        if i > 1:
            print(f'  (iterations after 1 are not guarded: reference margins '
                  f'{[float(ref[f"it{r}/recycled_bin_margin"]) for r in range(i)]} A)')
    failed = False
    for item in a.results:
        label, sep, path = item.partition('=')  # LABEL=PATH (a path may hold '=' itself) or PATH
        if not sep:
            label, path = item, item
        judged = comparable and not (a.report_only or label.endswith('~'))
        label = label.rstrip('~')
        got = read_h5(path)
        devs = deviations(expected, got)
        ok, over = verdict(devs)
        print(format_table(f'{label}: {path}', devs))
        if i + 1 < int(ref['n_iterations']):  # these positions are what the next iteration would recycle
            flips = int((recycled_bins(ref['aatype'], expected['final_atom_positions'])
                         != recycled_bins(ref['aatype'], got['final_atom_positions'])).sum() // 2)
            print(f'  recycling distogram: {flips} pseudo-beta pair(s) in another bin than the reference\'s '
                  f'(its closest distance is {float(expected["recycled_bin_margin"]):.2g} A from a bin edge)')
        if judged:
            print(f'  {"PASS" if ok else "FAIL (" + ", ".join(over) + " over tolerance)"}')
            failed |= not ok
        else:
            print('  (not judged: ' + ('within' if ok else 'outside') + ' the fp32 tolerances)')
    return 1 if failed else 0


def cmd_reference(a):
    if a.threads > 0:
        allowed = sorted(os.sched_getaffinity(0))
        if a.threads < len(allowed):
            os.sched_setaffinity(0, allowed[:a.threads])
    import time

    import haiku as hk
    import jax
    import jax.numpy as jnp
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench_model import reference_config  # model_1_ptm with the deviations above
    from alphafold.model import modules
    jax.config.update('jax_platform_name', 'cpu')
    feats = dict(np.load(a.features))
    n_iter, n_res = feats['aatype'].shape[:2]
    cfg = reference_config(None)
    cfg.model.num_recycle = n_iter - 1
    cfg.model.global_config.bfloat16 = a.bfloat16  # AlphaFold's bfloat16 trunk (the preset's own inference mode)
    e = cfg.model.embeddings_and_evoformer

    def forward(batch):
        return modules.AlphaFold(cfg.model)(batch, is_training=False, return_representations=True)

    f = hk.transform(forward)
    key = jax.random.PRNGKey(a.seed)
    zeros = {'prev_pos': jnp.zeros([n_res, 37, 3]), 'prev_msa_first_row': jnp.zeros([n_res, e.msa_channel]),
             'prev_pair': jnp.zeros([n_res, n_res, e.pair_channel])}

    def batch(r, prev):
        return {**{k: jnp.asarray(v[r:r + 1]) for k, v in feats.items()}, 'prev': dict(prev)}

    t0 = time.perf_counter()
    params = draw_params(jax.eval_shape(f.init, key, batch(0, zeros)), a.seed, a.gain, a.backbone_gain)
    if a.params_dir:
        os.makedirs(a.params_dir, exist_ok=True)
        path = os.path.join(a.params_dir, 'params_model_1_ptm.npz')
        np.savez(path + '.tmp.npz', **flatten(params))
        os.replace(path + '.tmp.npz', path)  # never rewrite a file a reader may have mapped
    print(f'parameters: {sum(v.size for d in params.values() for v in d.values()) / 1e6:.1f} M drawn (seed {a.seed}, '
          f'gain {a.gain}, backbone gain {a.backbone_gain}) in {time.perf_counter() - t0:.0f} s', file=sys.stderr)
    t0 = time.perf_counter()
    apply = jax.jit(f.apply).lower(params, key, batch(0, zeros)).compile()
    print(f'compiled in {time.perf_counter() - t0:.0f} s', file=sys.stderr)
    out = {'n_iterations': np.int32(n_iter), 'aatype': feats['aatype'][0]}

    def loop(p, prefix):
        prev = zeros
        for r in range(n_iter):
            t0 = time.perf_counter()
            ret = jax.block_until_ready(apply(p, key, batch(r, prev)))
            prev = ret['prev']
            sm, reps = ret['structure_module'], ret['representations']
            o = {'final_atom_positions': sm['final_atom_positions'], 'final_atom_mask': sm['final_atom_mask'],
                 'plddt': ret['plddt'], 'predicted_aligned_error': ret['predicted_aligned_error'], 'ptm': ret['ptm'],
                 'distogram/logits': ret['distogram']['logits'],
                 'predicted_lddt/logits': ret['predicted_lddt']['logits'],
                 'experimentally_resolved/logits': ret['experimentally_resolved']['logits'],
                 'masked_msa/logits': ret['masked_msa']['logits']}
            o = {k: np.asarray(v, np.float32) for k, v in o.items()}
            margin = bin_margin(feats['aatype'][0], o['final_atom_positions'])
            o['recycled_bin_margin'] = np.float32(margin)
            scales = {k: float(np.abs(np.asarray(reps[k])).max()) for k in ('msa_first_row', 'pair', 'single')}
            print(f'{prefix} iteration {r}: {time.perf_counter() - t0:.0f} s; {summary(o)}; |msa_first_row|, |pair|, '
                  f'|single| up to {scales["msa_first_row"]:.3g}, {scales["pair"]:.3g}, {scales["single"]:.3g}; '
                  f'recycled CB distances {margin:.2g} A from a distogram bin edge', file=sys.stderr)
            out.update({f'{prefix}{r}/{k}': v for k, v in o.items()})

    loop(params, 'it')
    if a.probe > 0:
        rng = np.random.default_rng(a.seed + 1)
        probed = jax.tree_util.tree_map(
            lambda x: (x * (1 + a.probe * rng.standard_normal(x.shape))).astype(np.float32), params)
        loop(probed, 'probe')
        out['probe_eps'] = np.float32(a.probe)
    np.savez(a.out, **out)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='cmd', required=True)
    r = sub.add_parser('reference')
    r.add_argument('--features', required=True)
    r.add_argument('--params-dir', help='write params_model_1_ptm.npz there')
    r.add_argument('--out', required=True)
    r.add_argument('--seed', type=int, default=0)
    r.add_argument('--gain', type=float, default=1.0)
    r.add_argument('--backbone-gain', type=float, default=0.2)
    r.add_argument('--probe', type=float, default=0.0)
    r.add_argument('--threads', type=int, default=0)
    r.add_argument('--bfloat16', action='store_true')
    c = sub.add_parser('compare')
    c.add_argument('--reference', required=True)
    c.add_argument('--iteration', type=int, default=None)
    c.add_argument('--report-only', action='store_true')
    c.add_argument('--recycled-from', metavar='RESULT.h5', help="kfold's iteration 0 (--recycles 0) of the loop")
    c.add_argument('results', nargs='+', metavar='LABEL=RESULT.h5')
    a = p.parse_args()
    return {'reference': cmd_reference, 'compare': cmd_compare}[a.cmd](a)


if __name__ == '__main__':
    sys.exit(main())
