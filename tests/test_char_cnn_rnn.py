"""The char-CNN-RNN: the three released variants, the conv arithmetic, the TextEncoder API."""

import pytest
import torch

from t2ilib.models.char_cnn_rnn import (
    PRESETS,
    CharCNNRNN,
    CharCNNRNNConfig,
    preset,
    receptive_field,
    rnn_steps,
)
from t2ilib.text import encode, one_hot
from t2ilib.text_encoder import (
    TextEncoder,
    embed_captions,
    embed_captions_cached,
    load_text_encoder,
)

CAPTIONS = ["a small red circle", "this star is blue and huge", "a tiny green hexagon"]


@pytest.mark.parametrize(
    "name, cnn_dim, rnn, steps",
    [("cvpr", 256, "rnn", 8), ("icml_flowers", 512, "rnn", 8), ("icml_birds", 512, "gru", 18)],
)
def test_released_variants(name, cnn_dim, rnn, steps):
    config = PRESETS[name]
    assert (config.cnn_dim, config.rnn) == (cnn_dim, rnn)
    assert rnn_steps(config) == steps  # 201 -> 198 -> 66 -> 63 -> 21 -> 18 [-> 8]
    torch.manual_seed(0)
    model = CharCNNRNN(config)
    x = encode(CAPTIONS)
    assert model.features(x).shape == (3, steps, cnn_dim)
    out = model(x)
    assert out.shape == (3, 1024) and out.dtype == torch.float32
    assert torch.isfinite(out).all()


def test_receptive_field():
    assert receptive_field(PRESETS["cvpr"]) == (66, 18)
    assert receptive_field(PRESETS["icml_birds"]) == (48, 9)


def test_first_convolution_as_lookup_equals_conv_on_one_hot():
    torch.manual_seed(0)
    model = CharCNNRNN()
    x = encode(CAPTIONS)
    expected = model.cnn[0](one_hot(x))
    torch.testing.assert_close(model._first_conv(x), expected, rtol=1e-5, atol=1e-5)


def test_init_is_uniform_008_and_seeded():
    torch.manual_seed(1)
    a = CharCNNRNN()
    torch.manual_seed(1)
    b = CharCNNRNN()
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
        assert p.abs().max() <= 0.08


def test_bad_input_and_config_errors():
    with pytest.raises(ValueError, match="shape"):
        CharCNNRNN()(torch.zeros(2, 100, dtype=torch.long))
    with pytest.raises(ValueError, match="unknown rnn"):
        CharCNNRNNConfig(rnn="lstm")
    with pytest.raises(ValueError, match="no time step"):
        CharCNNRNNConfig(doc_length=20)
    with pytest.raises(ValueError, match="valid presets"):
        preset("nope")


def test_text_encoder_embed_save_load_roundtrip(tmp_path):
    torch.manual_seed(0)
    enc = TextEncoder(preset("icml_birds"), metadata={"dataset": "test"})
    h = enc.embed(CAPTIONS)
    assert h.shape == (3, 1024)
    # Lowercasing: the same caption in capitals embeds identically.
    torch.testing.assert_close(enc.embed(["A SMALL RED CIRCLE"]), h[:1])
    path = tmp_path / "enc.pt"
    enc.save(path)
    blob = torch.load(path, weights_only=True)  # no pickled code
    assert blob["config"]["rnn"] == "gru" and blob["metadata"] == {"dataset": "test"}
    loaded = load_text_encoder(path)
    assert torch.equal(loaded.embed(CAPTIONS), h)
    assert loaded.metadata["dataset"] == "test" and not loaded.training


def test_load_text_encoder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-encoder"):
        load_text_encoder(tmp_path / "missing.pt")
    torch.save({"something": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a t2ilib text encoder"):
        load_text_encoder(tmp_path / "other.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="not a readable"):
        load_text_encoder(tmp_path / "junk.pt")


def test_embed_captions_shape_and_cache(tmp_path, monkeypatch):
    torch.manual_seed(0)
    enc = TextEncoder()
    captions = [CAPTIONS[:2], CAPTIONS[1:]]
    emb = embed_captions(enc, captions, batch_size=2)
    assert emb.shape == (2, 2, 1024)
    torch.testing.assert_close(emb[1, 0], enc.embed([CAPTIONS[1]])[0])
    with pytest.raises(ValueError, match="same number of captions"):
        embed_captions(enc, [CAPTIONS, CAPTIONS[:1]])

    path = tmp_path / "emb.pt"
    first = embed_captions_cached(enc, captions, path)
    assert torch.load(path, weights_only=True)["embeddings"].shape == (2, 2, 1024)
    calls = []
    import t2ilib.text_encoder as te

    real = te.embed_captions
    monkeypatch.setattr(te, "embed_captions", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert torch.equal(embed_captions_cached(enc, captions, path), first)
    assert calls == []  # reused
    with torch.no_grad():
        enc.net.proj.bias.add_(1.0)  # another encoder: recomputed
    again = embed_captions_cached(enc, captions, path)
    assert calls == [1] and not torch.equal(again, first)


def test_embed_captions_embeds_each_distinct_caption_once(monkeypatch):
    torch.manual_seed(0)
    enc = TextEncoder()
    captions = [[CAPTIONS[0], CAPTIONS[1]], [CAPTIONS[1], CAPTIONS[0]], [CAPTIONS[0]] * 2]
    seen = []
    real = enc.embed
    monkeypatch.setattr(enc, "embed", lambda caps, **k: seen.extend(caps) or real(caps, **k))
    emb = embed_captions(enc, captions)
    assert sorted(seen) == sorted(CAPTIONS[:2])  # 6 captions, 2 distinct: 2 embedded
    torch.testing.assert_close(emb[1, 1], enc.embed([CAPTIONS[0]])[0])
    torch.testing.assert_close(emb[2, 0], emb[0, 0])
    torch.testing.assert_close(emb[0, 1], real([CAPTIONS[1]])[0])
