"""PNG pictures of a training run, drawn with Pillow: image grids (samples,
reconstructions) and the loss curves.

    save_image_grid("samples.png", images, title="64 samples ...")   # (N, 28, 28) in [0, 1]
    save_reconstructions("reconstructions.png", x, x_hat)            # originals above, rows labelled
    save_loss_plot("loss.png", iterations, train_loss, val_loss)

Each picture says what it shows (a title, row labels, a legend) in Pillow's
default font, so that it is understood without the README.

Images may be float in [0, 1] (1 = white; mapped to round(255 x)) or uint8
(0..255, kept as is), shaped (N, H, W), (N, 1, H, W) or (N, H*W) with a square
H*W (784 -> 28 x 28). Every file is written atomically (temporary file in the
same folder, then renamed); bad input raises PictureError naming the file, a
failed write (a full disk) an OSError whose filename is the picture's.
"""
from .drawing import TITLE_PAD, TITLE_SIZE, PictureError
from .grids import SEPARATOR, SEPARATOR_GRAY, save_image_grid, save_reconstructions
from .loss_plot import TRAIN_COLOR, VAL_COLOR, save_loss_plot, smooth

__all__ = ["PictureError", "save_image_grid", "save_reconstructions", "save_loss_plot", "smooth",
           "SEPARATOR", "SEPARATOR_GRAY", "TITLE_PAD", "TITLE_SIZE", "TRAIN_COLOR", "VAL_COLOR"]
