"""PNG pictures: nnvae.app.pictures (decoded back with Pillow)."""
from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from nnvae.app import pictures
from nnvae.errors import NnvaeError
from nnvae.app.pictures import PictureError, save_image_grid, save_loss_plot, save_reconstructions

GRAY = pictures.SEPARATOR_GRAY


def load(path):
    with Image.open(path) as im:
        assert im.format == "PNG"
        return im.mode, np.asarray(im)


def cell(px, i, ncols, scale, h=28, w=28):
    """Pixels of cell i, per the layout documented in save_image_grid."""
    y = 1 + (i // ncols) * (h * scale + 1)
    x = 1 + (i % ncols) * (w * scale + 1)
    return px[y:y + h * scale, x:x + w * scale]


# --------------------------------------------------------------------------
# Grids

def test_grid_64_images_default_size(tmp_path):
    path = tmp_path / "samples.png"
    save_image_grid(path, np.random.default_rng(0).random((64, 28, 28)))
    mode, px = load(path)
    assert mode == "L" and px.shape == (457, 457)  # 8 * (56 + 1) + 1


def test_grid_layout_and_pixel_values(tmp_path):
    images = np.zeros((10, 28, 28), np.float32)
    images[0] = 1.0                      # white
    images[2] = 0.2                      # rint(0.2 * 255) = 51
    images[3, 5, 7] = 1.0                # one white pixel
    path = tmp_path / "g.png"
    save_image_grid(path, images, ncols=4, scale=3)
    _, px = load(path)
    assert px.shape == (3 * (84 + 1) + 1, 4 * (84 + 1) + 1)  # 3 rows of 4
    assert (cell(px, 0, 4, 3) == 255).all()
    assert (cell(px, 1, 4, 3) == 0).all()
    assert (cell(px, 2, 4, 3) == 51).all()
    c3 = cell(px, 3, 4, 3)
    assert (c3[15:18, 21:24] == 255).all() and c3.sum() == 9 * 255  # scaled 3x3 block
    # Separators and the two unused cells of the last row are gray.
    assert (px[0, :] == GRAY).all() and (px[:, 0] == GRAY).all() and (px[85, :] == GRAY).all()
    assert (cell(px, 10, 4, 3) == GRAY).all() and (cell(px, 11, 4, 3) == GRAY).all()


def test_grid_accepts_uint8_flat_and_channel_shapes(tmp_path):
    u8 = np.arange(2 * 784, dtype=np.int64).reshape(2, 784).astype(np.uint8)
    save_image_grid(tmp_path / "a.png", u8, ncols=8, scale=1)  # fewer images than columns
    _, a = load(tmp_path / "a.png")
    assert a.shape == (30, 59)
    np.testing.assert_array_equal(cell(a, 1, 2, 1), u8[1].reshape(28, 28))
    save_image_grid(tmp_path / "b.png", u8.reshape(2, 1, 28, 28), ncols=8, scale=1)
    np.testing.assert_array_equal(load(tmp_path / "b.png")[1], a)


def test_reconstructions_originals_above(tmp_path):
    n = 20
    orig = np.ones((n, 28, 28), np.float32)
    recon = np.zeros((n, 1, 28, 28), np.float32)
    recon[3] = 0.5
    path = tmp_path / "reconstructions.png"
    save_reconstructions(path, orig, recon, row_labels=None)
    _, px = load(path)
    c = 16  # default: up to 16 pairs per band; 20 pairs -> 2 bands -> 4 rows
    assert px.shape == (4 * 57 + 1, c * 57 + 1)
    for i in range(n):
        band, col = divmod(i, c)
        top = cell(px, 2 * band * c + col, c, 2)
        below = cell(px, (2 * band + 1) * c + col, c, 2)
        assert (top == 255).all()
        assert (below == (128 if i == 3 else 0)).all()
    assert (cell(px, 2 * c + 4, c, 2) == GRAY).all()  # unused slot in the second band


def test_reconstructions_size_with_ncols(tmp_path):
    path = tmp_path / "r.png"
    save_reconstructions(path, np.zeros((8, 784)), np.zeros((8, 784)), scale=1, ncols=8, row_labels=None)
    assert load(path)[1].shape == (2 * 29 + 1, 8 * 29 + 1)


def test_reconstructions_rows_are_labelled(tmp_path):
    # The default names both rows in a white margin on the left; the grid
    # itself is unchanged to its right.
    orig, recon = np.ones((16, 28, 28)), np.zeros((16, 28, 28))
    save_reconstructions(tmp_path / "plain.png", orig, recon, row_labels=None)
    save_reconstructions(tmp_path / "named.png", orig, recon)
    _, plain = load(tmp_path / "plain.png")
    _, named = load(tmp_path / "named.png")
    margin = named.shape[1] - plain.shape[1]
    assert named.shape[0] == plain.shape[0] == 115 and 60 < margin < 200
    np.testing.assert_array_equal(named[:, margin:], plain)
    for row in (0, 1):  # dark text pixels beside each row, white elsewhere in the margin
        band = named[1 + row * 57:(row + 1) * 57, :margin]
        assert (band < 128).sum() > 30
    assert named[0, 0] == 255


@pytest.mark.parametrize("images, message", [
    (np.full((2, 28, 28), np.nan), "NaN"),
    (np.full((2, 28, 28), 1.5), r"\[0, 1\].*1\.5"),
    (np.full((2, 28, 28), -0.1), r"\[0, 1\]"),
    (np.zeros((28, 28)), "pixels per image is not a square|must be shaped"),
    (np.zeros((2, 3, 28, 28)), "must be shaped"),
    (np.zeros((0, 28, 28)), "must be shaped"),
    (np.zeros((2, 28, 28), np.int32), "dtype int32"),
    (np.zeros((2, 783)), "not a square"),
])
def test_grid_bad_images(tmp_path, images, message):
    path = tmp_path / "bad.png"
    with pytest.raises(PictureError, match=message) as info:
        save_image_grid(path, images)
    assert str(info.value).startswith(str(path)) and isinstance(info.value, NnvaeError)
    assert os.listdir(tmp_path) == []


def test_grid_bad_options_and_mismatched_reconstructions(tmp_path):
    x = np.zeros((4, 28, 28))
    for kwargs in ({"scale": 0}, {"scale": 2.5}, {"ncols": 0}, {"ncols": True}):
        with pytest.raises(PictureError, match="scale|ncols"):
            save_image_grid(tmp_path / "g.png", x, **kwargs)
    with pytest.raises(PictureError, match=r"originals \(4, 28, 28\) and reconstructions \(3, 28, 28\)"):
        save_reconstructions(tmp_path / "r.png", x, x[:3])
    assert os.listdir(tmp_path) == []


def test_failed_save_keeps_old_picture(tmp_path, monkeypatch):
    path = tmp_path / "samples.png"
    save_image_grid(path, np.ones((4, 28, 28)))
    before = path.read_bytes()

    def failing_save(self, fp, *args, **kwargs):
        fp.write(b"\x89PNG partial")
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(Image.Image, "save", failing_save)
    with pytest.raises(OSError, match="disk full") as info:
        save_image_grid(path, np.zeros((4, 28, 28)))
    assert info.value.filename == str(path)  # the file is named
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["samples.png"]


# --------------------------------------------------------------------------
# Loss plot

def colored_rows(px, color, tol=40):
    """Row indices of pixels close to `color`."""
    close = (np.abs(px[..., :3].astype(int) - np.array(color)).sum(axis=-1) < tol)
    return np.nonzero(close)


def test_loss_plot_sizes_and_colors(tmp_path):
    it = np.arange(9, 6000, 10)
    train = 80 + 400 * np.exp(-it / 300)
    val = train + 5
    path = tmp_path / "loss.png"
    save_loss_plot(path, it, train, val)
    mode, px = load(path)
    assert mode == "RGB" and px.shape == (400, 640, 3)
    assert len(colored_rows(px, pictures.TRAIN_COLOR)[0]) > 500
    assert len(colored_rows(px, pictures.VAL_COLOR)[0]) > 500
    assert (px[2, 320] == 255).all()  # white background

    save_loss_plot(tmp_path / "small.png", it, train, None, width=300, height=200)
    _, small = load(tmp_path / "small.png")
    assert small.shape == (200, 300, 3)
    assert len(colored_rows(small, pictures.VAL_COLOR)[0]) == 0  # no validation curve


def test_loss_plot_single_point_and_many_points(tmp_path):
    save_loss_plot(tmp_path / "one.png", [9], [503.848297], [405.502197])
    _, one = load(tmp_path / "one.png")
    assert one.shape == (400, 640, 3)
    assert len(colored_rows(one, pictures.TRAIN_COLOR)[0]) > 10  # the dot (and legend)
    n = 20000
    rng = np.random.default_rng(1)
    save_loss_plot(tmp_path / "many.png", np.arange(n), 90 + rng.random(n), 95 + rng.random(n),
                   width=800, height=500)
    assert load(tmp_path / "many.png")[1].shape == (500, 800, 3)
    save_loss_plot(tmp_path / "flat.png", [0, 10, 20], [7.0, 7.0, 7.0], [7.0, 7.0, 7.0])


def test_loss_plot_first_huge_losses_do_not_flatten_the_curve(tmp_path):
    it = np.arange(9, 10000, 10)
    train = 85 + 10 * np.cos(it / 500.0)  # the interesting part spans 75..95
    train[:3] = [1e6, 5e4, 2000]          # the first, huge losses
    path = tmp_path / "loss.png"
    save_loss_plot(path, it, train, None, width=640, height=400)
    _, px = load(path)
    rows, cols = colored_rows(px, pictures.TRAIN_COLOR)
    curve = rows[cols < 500]  # left of the legend
    assert curve.max() - curve.min() > 200  # the oscillation fills most of the height


@pytest.mark.parametrize("args, kwargs, message", [
    (([0, 1], [1.0, np.nan], [1.0, 2.0]), {}, "train_loss has a NaN or infinite value at position 1"),
    (([0, 1], [1.0, 2.0], [1.0, np.inf]), {}, "val_loss has a NaN"),
    (([0, 1], [1.0, 2.0, 3.0], [1.0, 2.0]), {}, "train_loss has 3 values but iterations has 2"),
    (([0, 1], [1.0, 2.0], [1.0]), {}, "val_loss has 1 values"),
    (([], [], []), {}, "no points"),
    (([0], [1.0], [1.0]), {"width": 50}, "width must be an integer from 200"),
    (([0], [1.0], [1.0]), {"height": 100.5}, "height"),
    ((["a"], [1.0], [1.0]), {}, "iterations is not a sequence of numbers"),
    (([[0, 1]], [[1.0, 2.0]], None), {}, "one-dimensional"),
])
def test_loss_plot_bad_input(tmp_path, args, kwargs, message):
    path = tmp_path / "loss.png"
    with pytest.raises(PictureError, match=message) as info:
        save_loss_plot(path, *args, **kwargs)
    assert str(info.value).startswith(str(path))
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------
# What a reader needs without the README: titles, sizes, the loss plot's top,
# and the file named when it cannot be written

def test_a_title_band_above_the_grid(tmp_path):
    images = np.random.default_rng(0).random((64, 28, 28))
    save_image_grid(tmp_path / "plain.png", images)
    save_image_grid(tmp_path / "titled.png", images, title="64 samples: the decoder's images of random z " * 3)
    _, plain = load(tmp_path / "plain.png")
    _, titled = load(tmp_path / "titled.png")
    band = titled.shape[0] - plain.shape[0]
    assert titled.shape[1] == plain.shape[1] == 457 and 30 < band < 90  # the long title wraps to more lines
    np.testing.assert_array_equal(titled[band:], plain)  # the grid itself unchanged, below
    text = titled[:band]
    assert (text < 100).sum() > 200 and text[0].min() == 255  # dark letters on white, a white edge
    for row in range(3):  # each title line holds text: several rows of the band are inked
        assert (text[pictures.TITLE_PAD + row * 10:pictures.TITLE_PAD + row * 10 + 10] < 100).any()


def test_reconstructions_take_a_title(tmp_path):
    x = np.zeros((16, 28, 28))
    save_reconstructions(tmp_path / "plain.png", x, x)
    save_reconstructions(tmp_path / "titled.png", x, x, title="the first 16 test images")
    _, plain = load(tmp_path / "plain.png")
    _, titled = load(tmp_path / "titled.png")
    band = titled.shape[0] - plain.shape[0]
    assert 15 < band < 60 and titled.shape[1] == plain.shape[1]
    np.testing.assert_array_equal(titled[band:], plain)


def test_first_losses_leave_the_plot_through_its_top(tmp_path):
    # One point in 25 above the robust top: the curve must rise out of the
    # plot, not run along its top edge as if the loss stood still there.
    it = np.arange(1000) * 10 + 9
    train = 100 - 10 * it / it.max()
    train[:40] = 1000 - np.arange(40)
    path = tmp_path / "loss.png"
    save_loss_plot(path, it, train, None)
    _, px = load(path)
    frame = np.nonzero((np.abs(px.astype(int) - 60).sum(axis=-1) < 10).sum(axis=1) > 300)[0]
    top = frame[0]  # the plot area's top edge
    width = px.shape[1]
    rows, cols = colored_rows(px[top + 1:top + 4, :width // 5], pictures.TRAIN_COLOR)
    assert len(set(cols.tolist())) < 8, sorted(set(cols.tolist()))  # crossing the edge, not along it
    below = colored_rows(px[top + 4:, :width // 5], pictures.TRAIN_COLOR)
    assert len(below[0]) > 50  # the curve itself is there under the edge


def test_a_picture_that_cannot_be_written_is_named(tmp_path, monkeypatch):
    # A full disk during the final phase: the error names the picture and
    # says how to finish the run from its checkpoint.
    import errno

    from nnvae.app.training import TrainOptions, run_training
    from vae_fixtures import synthetic_digits

    def no_space(self, fp, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # as write(2) gives it: no file name

    monkeypatch.setattr(Image.Image, "save", no_space)
    out = tmp_path / "run"
    options = TrainOptions.of(iterations=10, batch_size=20, latent=4, hidden=16, threads=1, progress=False,
                              quiet=True, out=str(out))
    with pytest.raises(NnvaeError) as info:
        run_training(options, train_images=synthetic_digits(100, 1), test_images=synthetic_digits(40, 2))
    ckpt = out / "checkpoint.nnvckpt"
    assert str(info.value) == (f"cannot write {out / 'samples.png'}: No space left on device; the training itself "
                               f"is saved in {ckpt} (iteration 10): free some space and finish the run with: "
                               f"nnvae-train --resume {ckpt}")
