"""Tests of the VecMap alignment math (modeling_ctam.alignment.vecmap, .retrieval) and the dictionaries / BLI
(modeling_ctam.alignment.lexicon, .bli).

Fast: tiny random vectors, no encoder.
"""

from __future__ import annotations

import math

import pytest
import torch

from modeling_ctam.alignment import lexicon as lex
from modeling_ctam.alignment.bli import bli_evaluate, drop_overlap
from modeling_ctam.alignment.retrieval import induce_dictionary, retrieve, topk_mean_similarity
from modeling_ctam.alignment.vecmap import (
    AlignmentConfig,
    advanced_mapping,
    length_normalize,
    mapped_views,
    normalize_embeddings,
    procrustes,
    self_learning,
    whitening_transformation,
)


def random_rotation(d: int, generator: torch.Generator) -> torch.Tensor:
    q, r = torch.linalg.qr(torch.randn(d, d, generator=generator, dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r))  # (d, d) Haar-random orthogonal


def planted(n: int = 400, d: int = 24, noise: float = 0.0, seed: int = 0):
    """English y, Burmese x = y rotated (x_i = R^T y_perm(i)), rows shuffled: the mapping to find is W = R."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randn(n, d, generator=g, dtype=torch.float64) + 0.5  # not centred: normalisation has work to do
    rot = random_rotation(d, g)
    perm = torch.randperm(n, generator=g)  # Burmese row i translates English row perm[i]
    x = y[perm] @ rot  # row-wise x_i = R^T y_perm(i), i.e. R x_i = y_perm(i)
    if noise:
        x = x + noise * torch.randn(x.shape, generator=g, dtype=torch.float64)
    return x, y, rot, perm


def words_for(x, y, perm):
    en = [f"e{i}" for i in range(y.shape[0])]
    my = [f"m{i}" for i in range(x.shape[0])]
    gold = [(en[int(perm[i])], my[i]) for i in range(x.shape[0])]
    return en, my, gold


# ---------------------------------------------------------------------------------------------------------------
# primitives
# ---------------------------------------------------------------------------------------------------------------


def test_normalize_unit_center_unit():
    g = torch.Generator().manual_seed(1)
    m = torch.randn(50, 8, generator=g) * 3 + 2
    out = normalize_embeddings(m, ("unit", "center", "unit"))
    assert torch.allclose(out.norm(dim=1), torch.ones(50), atol=1e-5)
    centred = normalize_embeddings(m, ("unit", "center"))
    assert centred.mean(dim=0).abs().max() < 1e-6
    with pytest.raises(ValueError, match="unknown normalisation step"):
        normalize_embeddings(m, ("unit", "whiten"))


def test_procrustes_recovers_rotation_and_is_orthogonal():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(100, 16, generator=g, dtype=torch.float64)
    rot = random_rotation(16, g)
    y = x @ rot.T  # W x = y with W = rot
    w = procrustes(x, y)
    assert torch.allclose(w, rot, atol=1e-10)
    assert torch.allclose(w.T @ w, torch.eye(16, dtype=torch.float64), atol=1e-10)


def test_whitening_transformation_whitens():
    g = torch.Generator().manual_seed(3)
    m = torch.randn(200, 10, generator=g, dtype=torch.float64) @ torch.randn(10, 10, generator=g, dtype=torch.float64)
    w = whitening_transformation(m)
    cov = (m @ w).T @ (m @ w)
    assert torch.allclose(cov, torch.eye(10, dtype=torch.float64), atol=1e-8)
    assert torch.allclose(w, w.T, atol=1e-10)


def dense_csls(q, k, csls_k):
    sims = q @ k.T
    r_q = sims.topk(csls_k, dim=1).values.mean(dim=1)
    r_k = sims.topk(csls_k, dim=0).values.mean(dim=0)
    return 2 * sims - r_q[:, None] - r_k[None, :]


@pytest.mark.parametrize("chunk_size", [1, 7, None])
def test_blocked_retrieval_matches_dense_csls(chunk_size):
    g = torch.Generator().manual_seed(4)
    q = length_normalize(torch.randn(53, 12, generator=g, dtype=torch.float64))
    k = length_normalize(torch.randn(41, 12, generator=g, dtype=torch.float64))
    ref = dense_csls(q, k, 5)
    _, idx = retrieve(q, k, k=3, method="csls", csls_k=5, chunk_size=chunk_size)
    assert torch.equal(idx, ref.topk(3, dim=1).indices)
    _, idx_nn = retrieve(q, k, k=3, method="nn", chunk_size=chunk_size)
    assert torch.equal(idx_nn, (q @ k.T).topk(3, dim=1).indices)
    r = topk_mean_similarity(q, k, 5, chunk_size)
    assert torch.allclose(r, (q @ k.T).topk(5, dim=1).values.mean(dim=1))


@pytest.mark.parametrize("cache_mb", [0, 100])
@pytest.mark.parametrize("chunk_size", [1, 10, None])
def test_induce_dictionary_matches_dense_reference(chunk_size, cache_mb):
    """Blocked (three passes, cache_mb=0) and cached (one matmul) induction both equal the dense CSLS argmaxes."""
    g = torch.Generator().manual_seed(5)
    xw = length_normalize(torch.randn(37, 9, generator=g, dtype=torch.float64))
    yw = length_normalize(torch.randn(29, 9, generator=g, dtype=torch.float64))
    csls = dense_csls(xw, yw, 4)
    sims = xw @ yw.T
    x_idx, y_idx, objective = induce_dictionary(
        xw, yw, csls_k=4, direction="union", chunk_size=chunk_size, cache_mb=cache_mb
    )
    fwd = csls.argmax(dim=1)  # each Burmese word's English partner
    bwd = csls.argmax(dim=0)  # each English word's Burmese partner
    assert torch.equal(x_idx, torch.cat([torch.arange(37), bwd]))
    assert torch.equal(y_idx, torch.cat([fwd, torch.arange(29)]))
    expected = (sims.max(dim=1).values.mean() + sims.max(dim=0).values.mean()) / 2
    assert math.isclose(objective, float(expected), rel_tol=1e-9)
    # plain nearest neighbours, forward only
    x_nn, y_nn, _ = induce_dictionary(xw, yw, csls_k=0, direction="forward", chunk_size=chunk_size, cache_mb=cache_mb)
    assert torch.equal(y_nn, sims.argmax(dim=1)) and torch.equal(x_nn, torch.arange(37))
    x_b, y_b, _ = induce_dictionary(xw, yw, csls_k=0, direction="backward", chunk_size=chunk_size, cache_mb=cache_mb)
    assert torch.equal(x_b, sims.argmax(dim=0)) and torch.equal(y_b, torch.arange(29))
    # stochastic induction: keep_prob 0.5 drops half the candidates, so some picks differ from the argmax
    g1 = torch.Generator().manual_seed(0)
    _, y_s, _ = induce_dictionary(
        xw, yw, csls_k=4, direction="forward", keep_prob=0.5, generator=g1, chunk_size=chunk_size, cache_mb=cache_mb
    )
    assert not torch.equal(y_s, fwd)


def test_csls_beats_nearest_neighbour_on_a_hub():
    """A hub key (cosine 0.6 to every query) wins every plain nearest-neighbour search; CSLS discounts it."""
    n = 10
    eye = torch.eye(n + 1, dtype=torch.float64)
    hub_axis, axes = eye[0], eye[1:]
    queries = length_normalize(0.6 * hub_axis + 0.8 * axes)  # (n, n+1) Burmese words
    correct = length_normalize(-0.5 * hub_axis + axes)  # (n, n+1) their translations: cosine 0.447 < 0.6
    keys = torch.cat([hub_axis[None], correct])  # key 0 is the hub
    _, nn_idx = retrieve(queries, keys, k=1, method="nn")
    assert (nn_idx[:, 0] == 0).all(), "nearest neighbour should pick the hub for every query"
    _, csls_idx = retrieve(queries, keys, k=1, method="csls", csls_k=5)
    assert torch.equal(csls_idx[:, 0], torch.arange(1, n + 1)), "CSLS should pick the true translation"
    en = ["hub"] + [f"e{i}" for i in range(n)]
    my = [f"m{i}" for i in range(n)]
    bli = bli_evaluate(queries, keys, [(f"e{i}", f"m{i}") for i in range(n)], en, my, ks=(1,), csls_k=5)
    assert bli["p_at_1"] == 1.0 and bli["nn_p_at_1"] == 0.0 and bli["coverage"] == 1.0


# ---------------------------------------------------------------------------------------------------------------
# the whole alignment
# ---------------------------------------------------------------------------------------------------------------


def test_known_rotation_is_recovered_exactly():
    x, y, rot, perm = planted(n=300, d=16)
    seed = torch.arange(30)  # 10% of the pairs
    result = self_learning(x, y, seed, perm[seed], AlignmentConfig(dtype="float64", device="cpu"))
    assert torch.allclose(result.weight, rot, atol=1e-6), "W should equal the planted rotation"
    assert torch.allclose(result.weight @ result.weight.T, torch.eye(16, dtype=torch.float64), atol=1e-8)
    en, my, gold = words_for(x, y, perm)
    xw, yw = mapped_views(x, y, result)
    bli = bli_evaluate(xw, yw, gold[30:], en, my)
    assert bli["p_at_1"] == 1.0 and bli["nn_p_at_1"] == 1.0 and bli["coverage"] == 1.0
    assert result.converged and result.iterations >= 1
    assert result.target_mean.shape == (16,) and torch.allclose(result.target_mean, x.mean(0))
    assert torch.allclose(result.source_mean, y.mean(0))


def test_self_learning_expands_a_planted_dictionary():
    """Seed of 10% pairs in more dimensions than seed pairs: Procrustes on the seed alone is underdetermined and
    gets a minority right; self-learning induces the rest."""
    x, y, rot, perm = planted(n=400, d=64, noise=0.8, seed=7)
    seed = torch.arange(40)
    en, my, gold = words_for(x, y, perm)
    cfg = dict(dtype="float64", device="cpu")
    seed_only = self_learning(x, y, seed, perm[seed], AlignmentConfig(self_learning=False, **cfg))
    learned = self_learning(x, y, seed, perm[seed], AlignmentConfig(**cfg))
    p_seed = bli_evaluate(*mapped_views(x, y, seed_only), gold[40:], en, my)["p_at_1"]
    p_learned = bli_evaluate(*mapped_views(x, y, learned), gold[40:], en, my)["p_at_1"]
    assert seed_only.iterations == 0
    assert p_seed < 0.7, f"seed-only Procrustes should not already solve it (got {p_seed})"
    assert p_learned >= 0.95, f"self-learning should recover most pairs (got {p_learned})"
    assert learned.dictionary_size > 40
    objectives = [h["objective"] for h in learned.history]
    assert objectives[-1] > objectives[0]
    # the induced dictionary is mostly right
    right = (perm[learned.x_indices] == learned.y_indices).float().mean()
    assert right > 0.9


def test_stochastic_induction_reaches_keep_prob_one():
    x, y, rot, perm = planted(n=300, d=32, noise=0.2, seed=3)
    seed = torch.arange(30)
    cfg = AlignmentConfig(
        stochastic=True, stochastic_initial=0.25, stochastic_interval=2, dtype="float64", device="cpu", seed=1
    )
    result = self_learning(x, y, seed, perm[seed], cfg)
    keep = [h["keep_prob"] for h in result.history]
    assert keep[0] == 0.25 and keep[-1] == 1.0 and keep == sorted(keep)
    assert result.converged
    en, my, gold = words_for(x, y, perm)
    assert bli_evaluate(*mapped_views(x, y, result), gold[30:], en, my)["p_at_1"] >= 0.9


def test_vocabulary_cutoff_limits_induction():
    x, y, rot, perm = planted(n=200, d=16, seed=4)
    seed = torch.arange(20)
    result = self_learning(
        x, y, seed, perm[seed], AlignmentConfig(vocabulary_cutoff=50, keep_seed=False, dtype="float64", device="cpu")
    )
    assert int(result.x_indices.max()) < 50 and int(result.y_indices.max()) < 50


def test_whitening_step_keeps_planted_translations():
    x, y, rot, perm = planted(n=300, d=16, noise=0.05, seed=5)
    seed = torch.arange(60)
    result = self_learning(x, y, seed, perm[seed], AlignmentConfig(whiten=True, dtype="float64", device="cpu"))
    en, my, gold = words_for(x, y, perm)
    bli = bli_evaluate(*mapped_views(x, y, result), gold[60:], en, my)
    assert bli["p_at_1"] >= 0.95
    # with no re-weighting of English and its own de-whitening, the English side only rotates, so W stays the
    # linear map of the common space expressed in English coordinates
    xn = normalize_embeddings(x, ("unit", "center", "unit"))
    yn = normalize_embeddings(y, ("unit", "center", "unit"))
    w = advanced_mapping(xn, yn, torch.arange(300), perm, source_reweight=0.0, target_reweight=1.0)
    assert torch.allclose(xn @ w.T, yn[perm], atol=0.1)


def test_map_applies_the_model_formula():
    x, y, rot, perm = planted(n=100, d=8, seed=6)
    result = self_learning(x, y, torch.arange(20), perm[:20], AlignmentConfig(dtype="float64", device="cpu"))
    h = torch.randn(5, 8, dtype=torch.float64)
    expected = (h - result.target_mean) @ result.weight.T + result.source_mean  # h_vec = W (h - mu_tgt) + mu_src
    assert torch.allclose(result.map(h), expected)
    sd = result.state_dict()
    assert sd["weight"].shape == (8, 8) and sd["target_mean"].shape == (8,) and sd["weight"].dtype == torch.float32


def test_bad_inputs_to_self_learning():
    x, y, rot, perm = planted(n=50, d=8)
    with pytest.raises(ValueError, match="empty"):
        self_learning(x, y, [], [])
    with pytest.raises(ValueError, match="pair up"):
        self_learning(x, y, [0, 1], [0])
    with pytest.raises(IndexError, match="outside"):
        self_learning(x, y, [0, 99], [0, 1])
    with pytest.raises(ValueError, match="same d"):
        self_learning(x, y[:, :4], [0], [0])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"direction": "both"}, "direction"),
        ({"csls_k": -1}, "csls_k"),
        ({"stochastic_multiplier": 1.0}, "never reaches 1"),
        ({"stochastic_initial": 0.0}, "stochastic_initial"),
        ({"normalization": ("unit", "l2")}, "normalization"),
        ({"source_dewhiten": "english"}, "source_dewhiten"),
        ({"max_iterations": 0}, "max_iterations"),
        ({"dtype": "float16"}, "dtype"),
    ],
)
def test_config_validation_says_what_to_do(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AlignmentConfig(**kwargs)


def test_config_accepts_normalization_string():
    assert AlignmentConfig(normalization="unit,center,unit").normalization == ("unit", "center", "unit")


# ---------------------------------------------------------------------------------------------------------------
# seeds and dictionaries
# ---------------------------------------------------------------------------------------------------------------


def test_numeral_and_identical_seeds():
    en = ["the", "10", "3", "2024", "phone", "1.5"]
    my = ["ဖုန်း", "၁၀", "၃", "phone", "၂၀၂၄", "1.5", "၅", "ok"]
    assert lex.numeral_pairs(en, my) == [("10", "၁၀"), ("3", "၃"), ("2024", "၂၀၂၄"), ("1.5", "1.5")]
    assert lex.identical_pairs(en, my) == [("phone", "phone"), ("1.5", "1.5")]
    assert lex.burmese_digits_to_ascii("၀၁၂၃၄၅၆၇၈၉") == "0123456789"


def test_pairs_to_indices_warns_and_errors_naming_the_file():
    en, my = ["cat", "dog"], ["ကြောင်", "ခွေး"]
    with pytest.warns(UserWarning, match=r"seed\.txt: 1 of 2 pairs"):
        xi, yi, stats = lex.pairs_to_indices([("cat", "ကြောင်"), ("bird", "ငှက်")], en, my, name="seed.txt")
    assert xi.tolist() == [0] and yi.tolist() == [0] and stats == {"pairs": 2, "usable": 1, "missing": 1}
    with pytest.raises(ValueError, match=r"seed\.txt: none of its 1 pairs"):
        lex.pairs_to_indices([("bird", "ငှက်")], en, my, name="seed.txt")


def test_mypar_parse_errors_name_file_and_line(tmp_path):
    f = tmp_path / "lexicon.txt"
    f.write_text("cat | ကြောင်\ndog | ခွေး\n\nthis line has no separator\n", encoding="utf-8")
    with pytest.raises(lex.LexiconFormatError, match=r"lexicon\.txt:4: expected 'English \| Burmese'"):
        lex.read_mypar(f)
    f.write_text("cat | ကြောင်\n | ခွေး\n", encoding="utf-8")
    with pytest.raises(lex.LexiconFormatError, match=r"lexicon\.txt:2:"):
        lex.read_mypar(f)
    f.write_text("cat | ကြောင်\ndog | ခွေး\ncat | ကြောင်\n", encoding="utf-8")
    with pytest.raises(lex.LexiconFormatError, match=r"lexicon\.txt:3: duplicate pair .*first at line 1"):
        lex.read_mypar(f, duplicates="error")
    assert [e.pair for e in lex.read_mypar(f, duplicates="ignore")] == [("cat", "ကြောင်"), ("dog", "ခွေး")]


def test_mypar_keeps_single_words_and_strips_particles(tmp_path):
    f = tmp_path / "lexicon.txt"
    f.write_text(
        "Angry | စိတ်ဆိုး သော\nfruits | သစ်သီး များ\nI like cats . | ငါ ကြောင် ကြိုက် တယ်\nE | အီး အကြီး\n7 | ခုနှစ်\n",
        encoding="utf-8",
    )
    entries = lex.read_mypar(f)
    assert [e.pair for e in entries] == [("angry", "စိတ်ဆိုး"), ("fruits", "သစ်သီး"), ("7", "ခုနှစ်")]
    assert entries[0].origin == "lexicon.txt:1"


def test_tsv_dictionary_roundtrip_and_errors(tmp_path):
    pairs = [("cat", "ကြောင်"), ("dog", "ခွေး")]
    path = lex.write_pairs_tsv(pairs, tmp_path / "dev.tsv")
    assert path.read_text(encoding="utf-8").splitlines()[0] == "english\tburmese"
    assert [e.pair for e in lex.read_lexicon(path)] == pairs
    bad = tmp_path / "bad.tsv"
    bad.write_text("en\tmy\ncat\tကြောင်\n", encoding="utf-8")
    with pytest.raises(lex.LexiconFormatError, match=r"bad\.tsv:1: unknown dictionary format"):
        lex.read_lexicon(bad)
    bad.write_text("burmese\tenglish\nကြောင်\tcat\nခွေး\n", encoding="utf-8")
    with pytest.raises(lex.LexiconFormatError, match=r"bad\.tsv:3: expected 2 tab-separated fields"):
        lex.read_lexicon(bad)


def test_non_utf8_file_error_names_file_byte_and_line(tmp_path):
    f = tmp_path / "lexicon.txt"
    first = "cat | ကြောင်\n".encode("utf-8")  # 25 bytes
    f.write_bytes(first + b"caf\xe9 | " + "ကော်ဖီ\n".encode("utf-8"))  # a Latin-1 e-acute at byte 28
    assert len(first) == 25
    with pytest.raises(UnicodeDecodeError, match=r"lexicon\.txt: not valid utf-8 at byte 28 \(line 2, column 4\)"):
        lex.read_mypar(f)
    with pytest.raises(UnicodeDecodeError, match=r"lexicon\.txt: not valid utf-8 at byte 28"):
        lex.read_lexicon(f)
    assert "café" in lex.read_text(f, encoding="latin-1")


def test_split_is_disjoint_by_word_deterministic_and_order_free():
    g = torch.Generator().manual_seed(0)
    pairs = [(f"e{int(i)}", f"m{int(j)}") for i, j in torch.randint(0, 150, (300, 2), generator=g)]
    a = lex.split_lexicon(pairs, seed=5)
    b = lex.split_lexicon(list(reversed(pairs)), seed=5)
    assert a == b
    assert sum(len(v) for v in a.values()) == len(set(pairs))
    for s1 in a:
        for s2 in a:
            if s1 < s2:
                assert not {e for e, _ in a[s1]} & {e for e, _ in a[s2]}, f"{s1}/{s2} share an English word"
                assert not {m for _, m in a[s1]} & {m for _, m in a[s2]}, f"{s1}/{s2} share a Burmese word"
    assert lex.split_lexicon(pairs, seed=6) != a


def test_drop_overlap_removes_seed_query_words():
    eval_pairs = [("cat", "a"), ("dog", "b"), ("cow", "c")]
    with pytest.warns(UserWarning, match="1 of 3 pairs share a Burmese word"):
        kept = drop_overlap(eval_pairs, [("dog", "x"), ("horse", "c")])
    assert kept == [("cat", "a"), ("dog", "b")]  # the English side may be in the seed
    with pytest.warns(UserWarning, match="2 of 3 pairs share a word"):
        kept = drop_overlap(eval_pairs, [("dog", "x"), ("horse", "c")], sides="both")
    assert kept == [("cat", "a")]


def test_bli_coverage_counts_pairs_with_both_words():
    y = length_normalize(torch.eye(4, dtype=torch.float64))
    x = y.clone()
    en, my = ["a", "b", "c", "d"], ["A", "B", "C", "D"]
    pairs = [("a", "A"), ("b", "B"), ("zzz", "C"), ("c", "ZZZ")]
    r = bli_evaluate(x, y, pairs, en, my, csls_k=2)
    assert r["coverage"] == 0.5 and r["queries"] == 2 and r["p_at_1"] == 1.0
    none = bli_evaluate(x, y, [("q", "Q")], en, my)
    assert none["coverage"] == 0.0 and none["p_at_1"] is None


# ---------------------------------------------------------------------------------------------------------------
# real lexicons (need the shared data and modeling_ctam.data.burmese)
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_lexicons():
    pytest.importorskip("burmesenlp")
    from modeling_ctam.utils.paths import data_dir

    if not (data_dir() / "lexicon").is_dir():
        pytest.skip("shared data folder not found (set CTAM_DATA_DIR)")
    return data_dir()


def test_real_myth_lexicon_is_converted_from_zawgyi(shared_lexicons):
    entries = lex.read_myth(shared_lexicons / "lexicon" / "open-lexicon.my-en.zawgyi.tsv", duplicates="ignore")
    pairs = dict(e.pair for e in entries)
    assert pairs["market"] == "ဈေး"  # Zawgyi ေစ်း, too short for per-cell detection
    assert pairs["hospital"] == "ဆေးရုံ"
    assert len(entries) > 200


def test_default_split_files(shared_lexicons, tmp_path):
    files = lex.write_default_split(tmp_path)
    parts = {name: [e.pair for e in lex.read_lexicon(path)] for name, path in files.items()}
    assert set(parts) == {"seed", "dev", "test"} and all(len(p) > 100 for p in parts.values())
    words = {name: ({e for e, _ in p}, {m for _, m in p}) for name, p in parts.items()}
    assert not words["dev"][0] & words["test"][0] and not words["dev"][1] & words["test"][1]
    assert not words["seed"][1] & (words["dev"][1] | words["test"][1])
    again = lex.write_default_split(tmp_path / "again")
    assert all(files[n].read_bytes() == again[n].read_bytes() for n in files)


def test_whitening_keeps_english_a_rotation_by_default():
    """With the default English re-weighting 0, the map into English coordinates equals VecMap's shared space up to a
    rotation, so cosine retrieval is the same in both."""
    x, y, rot, perm = planted(n=300, d=16, noise=0.3, seed=8)
    xn = normalize_embeddings(x)
    yn = normalize_embeddings(y)
    dict_x, dict_y = torch.arange(120), perm[:120]
    w = advanced_mapping(xn, yn, dict_x, dict_y)  # source_reweight=0, target_reweight=0.5
    # recompute VecMap's shared space by hand: whiten, rotate, re-weight Burmese, de-whiten both
    wx1, wy1 = whitening_transformation(xn[dict_x]), whitening_transformation(yn[dict_y])
    p, s, qt = torch.linalg.svd((xn[dict_x] @ wx1).T @ (yn[dict_y] @ wy1))
    q = qt.T
    tx = wx1 @ p @ torch.diag(s.sqrt()) @ p.T @ torch.linalg.inv(wx1) @ p
    ty = wy1 @ q @ q.T @ torch.linalg.inv(wy1) @ q
    assert torch.allclose(ty, q, atol=1e-8)  # English: a rotation only
    assert torch.allclose(xn @ w.T, xn @ tx @ q.T, atol=1e-8)
    cos_shared = length_normalize(xn @ tx) @ length_normalize(yn @ ty).T
    cos_english = length_normalize(xn @ w.T) @ yn.T
    assert torch.allclose(cos_shared, cos_english, atol=1e-8)
