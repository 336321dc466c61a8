"""Golden processed features from the AlphaFold reference input pipeline, and Philox test vectors.

Runs in the reference venv (scripts/setup-reference) and writes tests/fixtures/input_pipeline/:
  raw_ubiquitin.npz     the numeric arrays of tests/fixtures/raw_features_ubiquitin.npz (the input of
                        every case; without its byte-string arrays, which kfold's npz reader skips).
  philox.npz            Philox4x32-10 blocks and TF's derived samplers (uniform float/int, shuffle,
                        categorical) from alphafold/model/tf/random_philox.py, the module that makes
                        alphafold-colabfold's NumPy input pipeline bit-exact to TensorFlow's stateful RNG.
  <case>.npz            features.np_example_to_features(raw, config, random_seed) on
                        tests/fixtures/raw_features_ubiquitin.npz for the configs in CASES, with the
                        config and seed stored under "config.*" so the C++ test needs no other input.

The reference's random_crop_to_size_seed takes its op seed from a process-global counter
(alphafold/model/tf/utils.py seed_maker) that grows with every pipeline call; this script resets it
to 0 before each case, which is the value a fresh process gets and the one kfold reproduces.

    .venv-reference/bin/python scripts/make_fixture_input_pipeline.py
"""
import pathlib

import numpy as np
from alphafold.model import config as af_config
from alphafold.model import features
from alphafold.model.tf import random_philox
from alphafold.model.tf import utils

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / "tests/fixtures/input_pipeline"

# name: (preset, seed, overrides of data.common / data.eval / data.common.masked_msa)
CASES = {
    # 13-row MSA into 4 clusters + 9 extra cropped to 8; 2 recycles resampled (tf.map_fn path).
    "small_seed7": ("model_3", 7, dict(max_msa_clusters=4, max_extra_msa=8, num_recycle=1)),
    # Every row becomes a cluster centre, the extra MSA is empty and padded; one batch (no map_fn).
    "all_clusters_seed0": ("model_3", 0, dict(max_msa_clusters=16, max_extra_msa=16, num_recycle=0)),
    # Seed 0 in the map_fn path (op seed 0 -> TF's (0, 2^31-1) rule), clusters reduced by templates,
    # other masking probabilities, a seed above 2^31.
    "templates_reduce_bigseed": ("model_3", 2**40 + 12345, dict(
        max_msa_clusters=6, max_templates=2, reduce_msa_clusters_by_max_templates=True,
        max_extra_msa=5, num_recycle=2, masked_msa_replace_fraction=0.3,
        uniform_prob=0.2, profile_prob=0.15, same_prob=0.25)),
    "seed0_recycle": ("model_3", 0, dict(max_msa_clusters=5, max_extra_msa=6, num_recycle=2)),
    # No resampling: one batch however many recycles; no cluster features (msa_feat has 25 channels).
    "no_resample_no_clusters": ("model_3", 42, dict(
        max_msa_clusters=5, max_extra_msa=3, num_recycle=3, resample_msa_in_recycling=False,
        msa_cluster_features=False)),
    # Ensembling (num_ensemble 2) with resampling over 2 recycles: 6 batches.
    "ensemble2": ("model_3", 3, dict(max_msa_clusters=3, max_extra_msa=4, num_recycle=2, num_ensemble=2)),
    # The real preset sizes (model_3: 512 clusters, 5120 extra, 3 recycles) on ubiquitin.
    "model_3_seed1": ("model_3", 1, {}),
    # A deeper synthetic MSA (300 rows, see synthetic_raw_features): 236 extra rows clustered, 128 kept.
    "synthetic_deep": ("model_3", 2024, dict(max_msa_clusters=64, max_extra_msa=128, num_recycle=1)),
    # Templates (model_1: use_templates): 3 synthetic raw templates padded to 4, or cropped to 2.
    "synthetic_templates": ("model_1", 99, dict(max_msa_clusters=12, max_templates=4, max_extra_msa=16,
                                                num_recycle=1)),
    "synthetic_templates_cropped": ("model_1", 5, dict(max_msa_clusters=12, max_templates=2, max_extra_msa=16,
                                                       num_recycle=0)),
}
SYNTHETIC_CASES = ("synthetic_deep", "synthetic_templates", "synthetic_templates_cropped")  # raw input as raw.*
TEMPLATE_CASES = ("synthetic_templates", "synthetic_templates_cropped")

COMMON_KEYS = ("max_extra_msa", "num_recycle", "reduce_msa_clusters_by_max_templates",
               "resample_msa_in_recycling", "msa_cluster_features", "use_templates")
EVAL_KEYS = ("max_msa_clusters", "max_templates", "num_ensemble", "masked_msa_replace_fraction")
MASKED_KEYS = ("uniform_prob", "profile_prob", "same_prob")


def make_config(preset, overrides):
  cfg = af_config.model_config(preset)
  for key, value in overrides.items():
    if key in COMMON_KEYS:
      cfg.data.common[key] = value
    elif key in EVAL_KEYS:
      cfg.data.eval[key] = value
    elif key in MASKED_KEYS:
      cfg.data.common.masked_msa[key] = value
    else:
      raise KeyError(key)
  return cfg


def config_arrays(cfg, seed):
  d = {f"config.{k}": np.array(cfg.data.common[k]) for k in COMMON_KEYS}
  d.update({f"config.{k}": np.array(cfg.data.eval[k]) for k in EVAL_KEYS})
  d.update({f"config.{k}": np.array(cfg.data.common.masked_msa[k]) for k in MASKED_KEYS})
  d["config.seed"] = np.array(seed, dtype=np.int64)
  return d


def synthetic_raw_features(n_seq=300, n_res=30, seed=0):
  """A deterministic random MSA in AlphaFold's raw feature layout: rows are the query mutated at a
  per-row rate, with gaps, X and insertions; some rows repeat so that clustering sees ties."""
  from alphafold.common import residue_constants
  rng = np.random.default_rng(seed)
  query = rng.integers(0, 20, n_res)  # HHblits ids of residues
  rows, deletions = [query], [np.zeros(n_res, np.int64)]
  for _ in range(n_seq - 1):
    if rng.random() < 0.05:
      source = int(rng.integers(len(rows)))
      rows.append(rows[source].copy())
      deletions.append(deletions[source].copy())
      continue
    row = np.where(rng.random(n_res) < rng.uniform(0.05, 0.8), rng.integers(0, 20, n_res), query)
    row = np.where(rng.random(n_res) < 0.1, 21, row)
    row = np.where(rng.random(n_res) < 0.01, 20, row)
    rows.append(row)
    deletions.append(np.where(rng.random(n_res) < 0.05, rng.integers(1, 30, n_res), 0))
  our = np.array(residue_constants.MAP_HHBLITS_AATYPE_TO_OUR_AATYPE)[query]
  return {
      "aatype": np.eye(21, dtype=np.int32)[our],
      "between_segment_residues": np.zeros(n_res, np.int32),
      "residue_index": np.arange(n_res, dtype=np.int32),
      "seq_length": np.full(n_res, n_res, np.int32),
      "msa": np.array(rows, np.int32),
      "deletion_matrix_int": np.array(deletions, np.int32),
      "num_alignments": np.full(n_res, n_seq, np.int32),
  }


def synthetic_templates(n_templates=3, n_res=30, seed=1):
  """Raw template features as templates.get_templates stacks them: random template letters (HHblits
  one-hot with gaps and glycines), atom masks with holes and coordinates."""
  rng = np.random.default_rng(seed)
  ids = rng.integers(0, 22, (n_templates, n_res))
  ids[:, ::7] = 5  # glycine (HHblits order): pseudo-beta from CA
  masks = (rng.random((n_templates, n_res, 37)) < 0.7).astype(np.float32)
  positions = (rng.normal(size=(n_templates, n_res, 37, 3)) * 10).astype(np.float32) * masks[..., None]
  return {
      "template_aatype": np.eye(22, dtype=np.float32)[ids],
      "template_all_atom_masks": masks,
      "template_all_atom_positions": positions,
      "template_sum_probs": rng.uniform(10, 100, (n_templates, 1)).astype(np.float32),
      "template_domain_names": np.array([f"{i}abc_A".encode() for i in range(n_templates)], dtype=object),
      "template_sequence": np.array([b"-" * n_res] * n_templates, dtype=object),
  }


def philox_vectors():
  out = {}
  # Raw blocks: (graph seed, op seed, start block, n blocks); the last start crosses 2^32.
  blocks = [(0, 0, 0, 2), (7, 3, 0, 3), (2**31 - 2, 2**31 - 1, 5, 2), (123456789, 42, 2**32 - 1, 3)]
  for i, (g, o, start, n) in enumerate(blocks):
    out[f"blocks{i}.seeds"] = np.array([g, o, start], dtype=np.int64)
    out[f"blocks{i}.values"] = random_philox._philox_blocks(g, o, n, start).astype(np.uint32).view(np.int32)
  # Samplers: (graph seed, op seed, iteration).
  for i, (g, o, it) in enumerate([(7, 2, 0), (7, 0, 3), (0, 2**31 - 1, 1)]):
    out[f"sampler{i}.seeds"] = np.array([g, o, it], dtype=np.int64)
    out[f"sampler{i}.uniform_float"] = random_philox.uniform_float(g, o, (3, 5), iteration=it)
    out[f"sampler{i}.uniform_int"] = random_philox.uniform_int(g, o, (6,), -2**31, 2**31 - 1, iteration=it)
    out[f"sampler{i}.uniform_int_small"] = random_philox.uniform_int(g, o, (6,), -3, 11, iteration=it)
    out[f"sampler{i}.shuffle"] = random_philox.random_shuffle(g, o, np.arange(11, dtype=np.int32), iteration=it)
    logits = np.log(np.array([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25], [1e-10, 0.5, 0.5], [0.3, 0.3, 0.4]] * 5,
                             dtype=np.float32))
    out[f"sampler{i}.categorical_logits"] = logits
    out[f"sampler{i}.categorical"] = random_philox.categorical(g, o, logits, 1, iteration=it)[:, 0]
  return out


def main():
  OUT.mkdir(parents=True, exist_ok=True)
  raw = dict(np.load(ROOT / "tests/fixtures/raw_features_ubiquitin.npz"))
  path = OUT / "raw_ubiquitin.npz"
  np.savez(path, **{k: v for k, v in raw.items() if v.dtype.kind in "iuf"})
  print(f"wrote {path} ({path.stat().st_size} bytes)")
  path = OUT / "philox.npz"
  np.savez(path, **philox_vectors())
  print(f"wrote {path} ({path.stat().st_size} bytes)")
  for name, (preset, seed, overrides) in CASES.items():
    cfg = make_config(preset, overrides)
    utils.seed_maker.next_seed = 0  # as in a fresh process (see the module docstring)
    case_raw = synthetic_raw_features() if name in SYNTHETIC_CASES else raw
    if name in TEMPLATE_CASES:
      case_raw = {**case_raw, **synthetic_templates()}
    out = features.np_example_to_features(case_raw, cfg, random_seed=seed)
    out = {k: np.asarray(v) for k, v in out.items()}
    if name in SYNTHETIC_CASES:  # the numeric raw arrays (kfold's npz reader skips byte strings)
      out.update({f"raw.{k}": v for k, v in case_raw.items() if v.dtype.kind in "iuf"})
    out.update(config_arrays(cfg, seed))
    path = OUT / f"{name}.npz"
    np.savez_compressed(path, **out)
    shapes = ", ".join(f"{k}{list(v.shape)}" for k, v in sorted(out.items()) if k in ("msa_feat", "extra_msa"))
    print(f"wrote {path} ({path.stat().st_size} bytes): {shapes}")


if __name__ == "__main__":
  main()
