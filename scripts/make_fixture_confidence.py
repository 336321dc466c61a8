"""Golden fixture for the confidence heads and metrics from the AlphaFold reference.

Runs in the reference venv (scripts/setup-reference) and writes tests/fixtures/fold/confidence.npz:
- the pLDDT head (modules.PredictedLDDTHead, Suppl. Alg. 29) and the PAE head
  (modules.PredictedAlignedErrorHead, Suppl. 1.9.7) with small channels, parameters under their
  AlphaFold keys (`alphafold/alphafold_iteration/predicted_lddt_head/act_0//weights`, ...), initialised
  with a fixed PRNG key (zero_init off) and perturbed (+= 0.1 * N(0, 1)) as in
  make_fixture_fold_modules.py; inputs `input/structure_module` [N, c_s] and `input/pair` [N, N, c_z];
- the heads' outputs (`output/lddt_logits`, `output/pae_logits`, `output/pae_breaks`) and what
  alphafold.common.confidence computes on those logits: `output/plddt`, `output/aligned_confidence_probs`,
  `output/predicted_aligned_error`, `output/max_predicted_aligned_error`, `output/ptm` (no weights),
  `output/ptm_masked` (0/1 residue weights `input/residue_weights`), `output/iptm` (interface score over
  the chains `input/asym_id`, same weights);
- a second, larger case for pTM without the num_res clipping at 19 and with another bin count:
  `input/large_logits` [30, 30, 16], `input/large_breaks` [15], `output/large_ptm`,
  `output/large_predicted_aligned_error`, `output/large_plddt` (pLDDT of `input/large_lddt_logits`).

Reference deviation (alphafold-colabfold 2.3.27 vs DeepMind AlphaFold v2.3): colabfold's
predicted_tm_score uses the float sum of the residue weights for d0 and returns max(per_alignment *
weights), DeepMind's uses int(sum) and per_alignment[argmax(per_alignment * weights)]. With 0/1 weights
(all cases here) both give the same number; kfold follows DeepMind.

The generator is deterministic: a rerun rewrites a byte-identical file.

    .venv-reference/bin/python scripts/make_fixture_confidence.py
"""
import pathlib
import sys

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np
from alphafold.common import confidence
from alphafold.model import config, modules

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from make_fixture_fold_modules import nested, perturb  # noqa: E402  (haiku scopes, perturbation)

jax.config.update('jax_platform_name', 'cpu')
ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / 'tests/fixtures/fold/confidence.npz'
SCOPE = ('alphafold', 'alphafold_iteration')

N_RES, C_S, C_Z, N_CHANNEL = 11, 12, 8, 16


def main():
    cfg = config.model_config('model_1_ptm').model
    gc = cfg.global_config
    gc.bfloat16 = False
    gc.zero_init = False
    gc.deterministic = True
    heads = cfg.heads
    heads.predicted_lddt.num_channels = N_CHANNEL

    rng = np.random.default_rng(20240611)
    single = (2.0 * rng.standard_normal((N_RES, C_S))).astype(np.float32)
    pair = (2.0 * rng.standard_normal((N_RES, N_RES, C_Z))).astype(np.float32)

    def fn(single, pair):
        reps = {'structure_module': single, 'pair': pair}
        lddt = modules.PredictedLDDTHead(heads.predicted_lddt, gc)(reps, None, False)
        pae = modules.PredictedAlignedErrorHead(heads.predicted_aligned_error, gc)(reps, None, False)
        return {'lddt_logits': lddt['logits'], 'pae_logits': pae['logits'], 'pae_breaks': pae['breaks']}

    f = hk.transform(nested(SCOPE, fn))
    key = jax.random.PRNGKey(17)
    params = perturb(f.init(key, jnp.asarray(single), jnp.asarray(pair)), jax.random.fold_in(key, 1))
    out = {k: np.asarray(v, np.float32) for k, v in
           f.apply(params, jax.random.fold_in(key, 2), jnp.asarray(single), jnp.asarray(pair)).items()}

    # Residue weights with holes (a padded residue, one more) and two chains for the interface score.
    weights = np.ones(N_RES, np.float32)
    weights[[3, N_RES - 1]] = 0.0
    asym_id = np.array([0] * 6 + [1] * (N_RES - 6), np.int32)

    logits, breaks = out['pae_logits'], out['pae_breaks']
    pae = confidence.compute_predicted_aligned_error(logits, breaks)
    out['plddt'] = confidence.compute_plddt(out['lddt_logits'])
    out['aligned_confidence_probs'] = pae['aligned_confidence_probs']
    out['predicted_aligned_error'] = pae['predicted_aligned_error']
    out['max_predicted_aligned_error'] = pae['max_predicted_aligned_error']
    out['ptm'] = confidence.predicted_tm_score(logits, breaks)
    out['ptm_masked'] = confidence.predicted_tm_score(logits, breaks, residue_weights=weights)
    out['iptm'] = confidence.predicted_tm_score(logits, breaks, residue_weights=weights, asym_id=asym_id)

    # Larger case: num_res 30 (> 19, no clipping), 16 bins over [0, 15] (step 15/14), sharper logits.
    n_large, bins_large = 30, 16
    large_logits = (3.0 * rng.standard_normal((n_large, n_large, bins_large))).astype(np.float32)
    large_breaks = np.linspace(0.0, 15.0, bins_large - 1).astype(np.float32)
    large_lddt_logits = (3.0 * rng.standard_normal((n_large, 50))).astype(np.float32)
    out['large_ptm'] = confidence.predicted_tm_score(large_logits, large_breaks)
    out['large_predicted_aligned_error'] = confidence.compute_predicted_aligned_error(
        large_logits, large_breaks)['predicted_aligned_error']
    out['large_plddt'] = confidence.compute_plddt(large_lddt_logits)

    arrays = {f'{module}//{name}': np.asarray(value) for module, d in params.items() for name, value in d.items()}
    arrays.update({'input/structure_module': single, 'input/pair': pair, 'input/residue_weights': weights,
                   'input/asym_id': asym_id, 'input/large_logits': large_logits,
                   'input/large_breaks': large_breaks, 'input/large_lddt_logits': large_lddt_logits})
    arrays.update({f'output/{k}': np.asarray(v, np.float32) for k, v in out.items()})
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez(OUT, **arrays)
    print(f'{OUT.name}: {OUT.stat().st_size / 1024:.1f} KiB; ptm {float(out["ptm"]):.6f}, '
          f'ptm_masked {float(out["ptm_masked"]):.6f}, iptm {float(out["iptm"]):.6f}, '
          f'large_ptm {float(out["large_ptm"]):.6f}, plddt {out["plddt"].min():.2f}..{out["plddt"].max():.2f}, '
          f'pae {out["predicted_aligned_error"].min():.2f}..{out["predicted_aligned_error"].max():.2f}')
    for k in sorted(arrays):
        print(f'  {k} {list(np.shape(arrays[k]))}')


if __name__ == '__main__':
    main()
