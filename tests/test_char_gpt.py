"""examples/gpt.py's GPT and examples/char_gpt.py: generation with and without the key/value
cache, bad input, parity with the PyTorch twin, and the example's flags in a tiny configuration."""

import contextlib
import io
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import tinynet as tn
from tinynet import functional as F
from tinynet import optim
from tinynet.optim.lr_scheduler import WarmupCosineLR

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))
sys.path.insert(0, str(ROOT / "benchmarks"))
from gpt import GPT, ContextTooLong, GPTConfig, KVCache, UnknownCharacters, Vocabulary, generate, sample  # noqa: E402
from test_examples import assert_png, has_matplotlib, load_example  # noqa: E402

TINY = GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_embd=16, n_head=2)
TINY_FLAGS = ["--n-layer", "1", "--n-embd", "16", "--n-head", "2", "--block-size", "16", "--batch-size", "8"]


def tiny_gpt(seed: int = 0) -> GPT:
    """A tiny float64 GPT with weights large enough that its next-token distributions are far from uniform."""
    tn.manual_seed(seed)
    model = GPT(TINY).to(np.float64)
    model.params[...] = np.random.default_rng(seed).normal(0, 0.5, model.params.shape)
    return model


def test_the_cache_gives_the_logits_of_the_whole_context(float64):
    model, tokens = tiny_gpt(), np.random.default_rng(1).integers(0, 11, (2, 8))
    with tn.no_grad():
        whole = model(tokens).data
        cache = KVCache(TINY.n_layer)
        prefix = model(tokens[:, :3], cache).data  # the prompt at once, two more tokens, then one at a time
        two = model(tokens[:, 3:5], cache).data
        steps = [model(tokens[:, t : t + 1], cache).data for t in range(5, 8)]
    np.testing.assert_allclose(np.concatenate([prefix, two, *steps], axis=1), whole, rtol=1e-12, atol=1e-12)
    assert len(cache) == 8


@pytest.mark.parametrize(("temperature", "top_k"), [(0.0, None), (1.0, 3), (0.7, None)])
def test_generation_with_the_cache_draws_the_tokens_of_generation_without_it(float64, temperature, top_k):
    model = tiny_gpt()
    prompt = np.array([[1, 2, 3], [4, 5, 6]])
    draws = {}
    for use_cache in (True, False):
        generator = np.random.default_rng(7)
        draws[use_cache] = generate(model, prompt, 30, temperature, top_k, use_cache=use_cache, generator=generator)
    assert draws[True].shape == (2, 33)  # 30 new tokens: past the block size of 8, so the context is cropped
    np.testing.assert_array_equal(draws[True], draws[False])
    if temperature:
        assert len(set(draws[True][0, 3:].tolist())) > 3  # not one token over and over


def test_greedy_generation_takes_the_likeliest_token_of_the_last_block_size_tokens(float64):
    model = tiny_gpt()
    tokens = generate(model, np.array([[0] * 12]), 1, temperature=0.0)  # a prompt longer than the context
    with tn.no_grad():
        expected = model(np.zeros((1, 8), dtype=np.int64)).data[0, -1].argmax()
    assert tokens.shape == (1, 13) and tokens[0, -1] == expected


def test_top_k_samples_only_among_the_k_likeliest():
    logits = np.array([[0.0, 3.0, 1.0, 2.9, -1.0]])
    generator = np.random.default_rng(0)
    drawn = {int(sample(logits, 1.0, top_k=2, generator=generator)[0]) for _ in range(200)}
    assert drawn == {1, 3}
    assert sample(logits, 0.0)[0] == 1
    with pytest.raises(ValueError, match="sample: top_k must be at least 1"):
        sample(logits, 1.0, top_k=0)
    with pytest.raises(ValueError, match="sample: temperature must be a finite number >= 0, got -1"):
        sample(logits, -1)


def test_a_context_longer_than_the_models_is_a_named_error():
    model = GPT(TINY)
    with pytest.raises(ContextTooLong, match="GPT: 9 tokens exceed the model's context of block_size 8; crop"):
        model(np.zeros((1, 9), dtype=np.int64))
    cache = KVCache(TINY.n_layer)
    with tn.no_grad():
        model(np.zeros((1, 8), dtype=np.int64), cache)
        with pytest.raises(ContextTooLong, match="GPT: 1 tokens after the 8 cached exceed"):
            model(np.zeros((1, 1), dtype=np.int64), cache)
    with pytest.raises(ValueError, match=r"GPT: expected tokens of shape \(batch, time\), got shape \(8,\)"):
        model(np.zeros(8, dtype=np.int64))
    with pytest.raises(ValueError, match="CausalSelfAttention: n_embd 16 is not divisible by n_head 3"):
        GPT(GPTConfig(vocab_size=11, n_embd=16, n_head=3))


def test_the_vocabulary_encodes_decodes_and_names_unknown_characters():
    vocabulary = Vocabulary.from_text("to be, or not to be")
    assert vocabulary.chars == " ,benort" and len(vocabulary) == 8
    ids = vocabulary.encode("not to be")
    assert ids.dtype == np.int64 and vocabulary.decode(ids) == "not to be"
    with pytest.raises(UnknownCharacters, match=r"'Tzé' not in the vocabulary; it has these 8 characters: ' ,benort'"):
        vocabulary.encode("To zé be")
    with pytest.raises(ValueError, match="chars must be distinct characters in sorted order"):
        Vocabulary("ba")


# ---------------------------------------------------------------- parity with PyTorch


def test_twenty_adamw_steps_give_pytorchs_losses(float64):
    torch = pytest.importorskip("torch")
    from torch_models import load_tinynet_gpt, torch_gpt

    tn.manual_seed(0)
    ours = GPT(TINY)
    theirs = torch_gpt(TINY.vocab_size, TINY.block_size, TINY.n_layer, TINY.n_embd, TINY.n_head).double()
    load_tinynet_gpt(theirs, ours.state_dict())
    opt = optim.AdamW(lr=1e-2, weight_decay=ours.flat_values(lambda name, p: 0.1 if p.ndim == 2 else 0.0))
    schedule = WarmupCosineLR(opt, warmup_steps=5, total_steps=20, eta_min=1e-3)
    decay = [p for p in theirs.parameters() if p.ndim == 2]
    no_decay = [p for p in theirs.parameters() if p.ndim != 2]
    torch_opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}])
    generator = np.random.default_rng(0)
    ours_losses, theirs_losses = [], []
    for _ in range(20):
        starts = generator.integers(0, TINY.vocab_size, (4, 1))  # counting on from a random token: learnable
        windows = (starts + np.arange(TINY.block_size + 1)) % TINY.vocab_size
        x, y = windows[:, :-1], windows[:, 1:]
        for group in torch_opt.param_groups:
            group["lr"] = opt.lr
        loss = F.cross_entropy(ours(x).reshape(-1, TINY.vocab_size), y.reshape(-1))
        ours.zero_grad()
        loss.backward()
        optim.clip_grad_norm(ours.grads, 0.5)
        opt.step(ours.grads, ours.params)
        schedule.step()
        torch_loss = torch.nn.functional.cross_entropy(
            theirs(torch.from_numpy(x)).reshape(-1, TINY.vocab_size), torch.from_numpy(y).reshape(-1)
        )
        torch_opt.zero_grad()
        torch_loss.backward()
        torch.nn.utils.clip_grad_norm_(theirs.parameters(), 0.5)
        torch_opt.step()
        ours_losses.append(loss.item())
        theirs_losses.append(torch_loss.item())
    np.testing.assert_allclose(ours_losses, theirs_losses, rtol=1e-9)
    assert ours_losses[-1] < ours_losses[0] / 2  # it learned: the steps were not empty


def test_the_gpt_exports_to_onnx_and_runs_there_as_in_tinynet(tmp_path):
    pytest.importorskip("onnx")
    onnxruntime = pytest.importorskip("onnxruntime")
    tn.manual_seed(0)
    model = GPT(TINY)
    tokens = np.random.default_rng(0).integers(0, TINY.vocab_size, (3, TINY.block_size))
    tn.onnx.export(model, tokens, tmp_path / "gpt.onnx")
    session = onnxruntime.InferenceSession(str(tmp_path / "gpt.onnx"))
    with tn.no_grad():
        expected = model(tokens).data
    for batch in (tokens, tokens[:1]):
        np.testing.assert_allclose(session.run(None, {"input": batch})[0], expected[: len(batch)], atol=1e-5)


# ---------------------------------------------------------------- the example


@pytest.fixture(scope="module")
def char_gpt():
    return load_example("char_gpt")  # by its path: benchmarks/ has a char_gpt.py too


def run_example(char_gpt, *flags):
    argv = [*TINY_FLAGS, "--steps", "40", "--warmup", "5", "--lr", "1e-2", "--eval-interval", "20"]
    return char_gpt.main([*argv, "--val-size", "3000", "--quiet", *flags])


@pytest.fixture(scope="module")
def trained(char_gpt, tmp_path_factory):
    """One tiny run of the example, with a checkpoint at steps 20 and 40: (folder, its output, its loss)."""
    folder = tmp_path_factory.mktemp("char_gpt")
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(io.StringIO()) as out:
        patch.chdir(folder)
        loss = run_example(char_gpt, "--save", "gpt.npz", "--checkpoint", "run{step}.npz")
    return folder, out.getvalue(), loss


def test_the_example_trains_prints_its_losses_and_saves(trained):
    folder, out, loss = trained
    lines = out.strip().splitlines()
    assert lines[0].startswith("step    20  train loss ") and "validation loss" in lines[0]
    assert lines[-1] == f"validation loss: {loss:.4f}" and loss < 3.2  # from ln 76 = 4.33 at the start
    assert "sample:" in lines and "saved the model to gpt.npz" in lines
    assert {p.name for p in folder.iterdir()} == {"gpt.npz", "run20.npz", "run40.npz"}


def test_generate_samples_from_the_saved_model(char_gpt, trained, capsys):
    saved = trained[0] / "gpt.npz"
    char_gpt.main(["--generate", "50", "--prompt", "ROMEO:", "--top-k", "5", "--save", str(saved)])
    out = capsys.readouterr().out
    assert out.startswith("ROMEO:") and len(out) == len("ROMEO:") + 50 + 1
    with pytest.raises(SystemExit) as stopped:
        char_gpt.main(["--generate", "50", "--prompt", "ROMEO ☺", "--save", str(saved)])
    assert stopped.value.code == 2 and "'☺' not in the vocabulary" in capsys.readouterr().err


def test_a_resumed_run_ends_as_the_run_never_stopped(char_gpt, trained, tmp_path, capsys):
    folder, _, loss = trained
    resumed = tmp_path / "resumed.npz"
    assert run_example(char_gpt, "--save", str(resumed), "--resume", str(folder / "run20.npz")) == loss
    assert "resumed from" in capsys.readouterr().out
    first, second = tn.load(folder / "gpt.npz")["model"], tn.load(resumed)["model"]
    assert all(np.array_equal(first[name], second[name]) for name in first)
    with pytest.raises(SystemExit) as stopped:
        run_example(char_gpt, "--lr", "2e-2", "--resume", str(folder / "run20.npz"), "--save", "")
    assert stopped.value.code == 2
    assert "was written by a run with --lr 0.01; this run has 0.02" in capsys.readouterr().err


def test_the_attention_picture_of_the_saved_model(trained, tmp_path, capsys):
    picture = load_example("attention_picture")
    weights = picture.attention_weights(str(trained[0] / "gpt.npz"), "ROMEO: what")
    assert len(weights) == 1 and weights[0].shape == (2, 11, 11)  # 1 layer, 2 heads, 11 characters
    np.testing.assert_allclose(weights[0].sum(axis=-1), 1, rtol=1e-5)
    assert np.all(np.triu(weights[0], 1) == 0)
    if has_matplotlib():
        out = tmp_path / "a.png"
        picture.main(["--model", str(trained[0] / "gpt.npz"), "--text", "ROMEO: what", "--out", str(out)])
        assert_png(out, min_bytes=10_000)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--n-head", "3"], "argument --n-head: 3 heads do not divide --n-embd 16"),
        (["--warmup", "40"], r"argument --warmup: must be in \[0, --steps\), got 40"),
        (["--temperature", "nan"], "argument --temperature: must be a finite number >= 0, got nan"),
        (["--generate", "5", "--save", "absent.npz"], "argument --generate: reads the model from --save"),
        (["--prompt", "Romeo ☺"], r"argument --prompt: '☺' not in the vocabulary"),
        (["--prompt", ""], "argument --prompt: empty; give at least one character"),
    ],
)
def test_bad_flags_exit_with_status_2_naming_them(char_gpt, tmp_path, capsys, flags, message):
    with pytest.raises(SystemExit) as stopped:
        run_example(char_gpt, "--save", "", *flags)
    assert stopped.value.code == 2
    assert re.search(message, capsys.readouterr().err)


def test_a_loss_that_becomes_nan_stops_training_with_status_3(char_gpt, capsys):
    with pytest.raises(SystemExit) as stopped, np.errstate(all="ignore"):
        run_example(char_gpt, "--lr", "1e4", "--save", "")
    assert stopped.value.code == 3
    assert "the training loss became nan at step" in capsys.readouterr().err
