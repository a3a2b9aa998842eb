"""sRGB <-> CIE Lab (D65 white, 2 degree observer) for TensorFlow tensors and NumPy arrays.

One formula serves both worlds: the maths is written against a NumPy-like namespace, which is
NumPy itself for arrays and ``tf.experimental.numpy`` for tensors, so a conversion inside a
``tf.data`` map, inside a Keras layer and in a NumPy post-processing step agree to float
precision. The constants are the ones scikit-image uses, so results match ``skimage.color``.

Example:
    >>> import numpy as np
    >>> lab = rgb_to_lab(np.array([[1.0, 1.0, 1.0]], np.float32))
    >>> bool(abs(lab[0, 0] - 100.0) < 1e-3)
    True
"""
from __future__ import annotations

import numpy as np

# sRGB (linear) -> XYZ, and the D65 reference white that normalises XYZ.
RGB_TO_XYZ = np.array(
    [[0.412453, 0.357580, 0.180423],
     [0.212671, 0.715160, 0.072169],
     [0.019334, 0.119193, 0.950227]], dtype=np.float64)
XYZ_TO_RGB = np.linalg.inv(RGB_TO_XYZ)
D65_WHITE = np.array([0.95047, 1.0, 1.08883], dtype=np.float64)

# CIE constants: below EPSILON the cube root is replaced by a straight line of slope KAPPA/116.
EPSILON = 0.008856
KAPPA = 903.3
F_EPSILON = 6.0 / 29.0  # f(t) at the junction, used by the inverse
# A floor for values that enter fractional powers: d(t^p)/dt is infinite at 0, and a `where`
# that discards that branch still multiplies its gradient by zero, giving NaN. Clamping the
# input of the unused branch keeps gradients finite at pure black.
_POW_FLOOR = 1e-6

AB_RANGE = 128.0
"""Half-width of the ab range the model's output is scaled to (sRGB ab stays inside +-128)."""


def _namespace(x):
    """Returns (xp, converted input): NumPy for arrays, TF's NumPy API for tensors."""
    if isinstance(x, np.ndarray) or np.isscalar(x):
        arr = np.asarray(x)
        if not np.issubdtype(arr.dtype, np.floating):
            raise TypeError(f"expected float values in [0, 1], got dtype {arr.dtype}")
        return np, arr
    import tensorflow as tf  # deferred: NumPy users need not pay for TF's import

    tensor = tf.convert_to_tensor(x)
    if not tensor.dtype.is_floating:
        raise TypeError(f"expected float values in [0, 1], got dtype {tensor.dtype.name}")
    return tf.experimental.numpy, tensor


def _matmul_channels(xp, x, matrix):
    """Applies a 3x3 colour matrix to the last axis of ``x``."""
    return xp.matmul(x, xp.asarray(matrix.T, dtype=x.dtype))


def _check_channels(x, n: int = 3) -> None:
    if x.shape[-1] is not None and x.shape[-1] != n:
        raise ValueError(f"expected {n} channels in the last axis, got shape {tuple(x.shape)}")


def srgb_to_linear(xp, c):
    """Removes the sRGB transfer curve (gamma) from values in [0, 1]."""
    safe = xp.maximum(c, 0.04045)
    return xp.where(c > 0.04045, xp.power((safe + 0.055) / 1.055, 2.4), c / 12.92)


def linear_to_srgb(xp, c):
    """Applies the sRGB transfer curve to linear values in [0, 1]."""
    safe = xp.maximum(c, 0.0031308)
    return xp.where(c > 0.0031308, 1.055 * xp.power(safe, 1.0 / 2.4) - 0.055, 12.92 * c)


def _f(xp, t):
    safe = xp.maximum(t, EPSILON)
    return xp.where(t > EPSILON, xp.power(safe, 1.0 / 3.0), (KAPPA / 116.0) * t + 16.0 / 116.0)


def _f_inverse(xp, f):
    safe = xp.maximum(f, _POW_FLOOR)
    return xp.where(f > F_EPSILON, safe * safe * safe, (f - 16.0 / 116.0) * (116.0 / KAPPA))


def rgb_to_lab(rgb):
    """Converts sRGB in [0, 1] to CIE Lab (L in [0, 100], a and b roughly in [-128, 127]).

    Args:
        rgb: Float array or tensor, channels last (``[..., 3]``), any leading dimensions.

    Returns:
        Lab values of the same type (NumPy in, NumPy out; tensor in, tensor out) and shape.
    """
    xp, rgb = _namespace(rgb)
    _check_channels(rgb)
    linear = srgb_to_linear(xp, xp.clip(rgb, 0.0, 1.0))
    xyz = _matmul_channels(xp, linear, RGB_TO_XYZ) / xp.asarray(D65_WHITE, dtype=rgb.dtype)
    fx, fy, fz = (_f(xp, xyz[..., i]) for i in range(3))
    lightness = 116.0 * fy - 16.0
    return xp.stack([lightness, 500.0 * (fx - fy), 200.0 * (fy - fz)], axis=-1)


def lab_to_rgb(lab, *, clip: bool = True):
    """Converts CIE Lab to sRGB in [0, 1]; colours outside the sRGB gamut are clipped.

    Args:
        lab: Float array or tensor, channels last (``[..., 3]``): L, a, b.
        clip: Clip to the sRGB cube (the default). ``False`` returns the exact sRGB
            coordinates, below 0 or above 1 for colours outside the gamut, which is how
            :mod:`colorizer.gamut` tells in-gamut colours from the others.

    Returns:
        sRGB values (in [0, 1] when clipped), same type and shape as the input.
    """
    xp, lab = _namespace(lab)
    _check_channels(lab)
    fy = (lab[..., 0] + 16.0) / 116.0
    fx = fy + lab[..., 1] / 500.0
    fz = fy - lab[..., 2] / 200.0
    if clip:
        fz = xp.maximum(fz, 0.0)  # z < 0 has no physical colour
    xyz = xp.stack([_f_inverse(xp, fx), _f_inverse(xp, fy), _f_inverse(xp, fz)], axis=-1)
    xyz = xyz * xp.asarray(D65_WHITE, dtype=lab.dtype)
    linear = _matmul_channels(xp, xyz, XYZ_TO_RGB)
    if not clip:
        # The sRGB curve is monotonic and keeps 0 and 1 fixed, so a negative linear value stays
        # negative and one above 1 stays above 1: out-of-gamut pixels remain visible.
        return linear_to_srgb(xp, linear)
    linear = xp.clip(linear, 0.0, 1.0)
    return xp.clip(linear_to_srgb(xp, linear), 0.0, 1.0)


def lightness_to_gray_rgb(lightness, xp=None):
    """Returns the sRGB gray level in [0, 1] whose CIE lightness is ``lightness`` (0-100).

    A pixel with ab = 0 is neutral gray, so its sRGB value is the inverse of L alone. Works on
    the same array and tensor types as :func:`rgb_to_lab`, keeping the input's shape.

    Args:
        lightness: CIE L values.
        xp: The array namespace to compute with; by default NumPy for arrays and TensorFlow's
            NumPy API for tensors. Model layers pass ``keras.ops``, which runs on every Keras
            backend.
    """
    if xp is None:
        xp, lightness = _namespace(lightness)
    luminance = _f_inverse(xp, (lightness + 16.0) / 116.0)
    return xp.clip(linear_to_srgb(xp, xp.clip(luminance, 0.0, 1.0)), 0.0, 1.0)


def rgb_to_l_ab(rgb):
    """Splits sRGB into the model's input L (``[..., 1]``) and target ab (``[..., 2]``)."""
    lab = rgb_to_lab(rgb)
    return lab[..., :1], lab[..., 1:]


def l_ab_to_rgb(lightness, ab):
    """Joins L (``[..., 1]``) and ab (``[..., 2]``) back into sRGB in [0, 1]."""
    if isinstance(lightness, np.ndarray):
        return lab_to_rgb(np.concatenate([lightness, ab], axis=-1).astype(np.float32))
    import tensorflow as tf

    return lab_to_rgb(tf.concat([lightness, tf.cast(ab, lightness.dtype)], axis=-1))


LUMINANCE_WEIGHTS = RGB_TO_XYZ[1].copy()
"""Linear-sRGB weights of CIE Y (luminance); Y alone decides L, so gray needs no a, b."""


def luminance_to_lightness(luminance: np.ndarray) -> np.ndarray:
    """CIE L (0-100) from relative luminance Y in [0, 1] (NumPy, keeps dtype and shape).

    The same formula as the L of :func:`rgb_to_lab`, for code that needs only lightness
    (a third of the work, and no full-size a and b temporaries): ``116 cbrt(Y) - 16``, with
    the straight part below :data:`EPSILON` patched in only where needed (a few deep
    shadows), which makes it fast enough for every pixel of a full-size photo.
    """
    luminance = np.asarray(luminance)
    dtype = luminance.dtype.type
    f = np.cbrt(luminance)
    dark = luminance <= dtype(EPSILON)
    if dark.any():
        f[dark] = luminance[dark] * dtype(KAPPA / 116.0) + dtype(16.0 / 116.0)
    return f * dtype(116.0) - dtype(16.0)


def srgb8_to_lab(rgb):
    """Converts 8-bit sRGB (a uint8 TensorFlow tensor, ``[..., 3]``) to float32 CIE Lab, fast.

    The same result as ``rgb_to_lab(rgb / 255)`` (to 1e-3), at about three times the speed: with
    only 256 possible inputs, the sRGB curve is a table look-up instead of a power per value.
    Data pipelines call it once per photo.
    """
    import tensorflow as tf

    xp = tf.experimental.numpy
    table = srgb_to_linear(np, np.arange(256, dtype=np.float64) / 255.0).astype(np.float32)
    linear = tf.gather(tf.constant(table), tf.cast(rgb, tf.int32))
    xyz = _matmul_channels(xp, linear, RGB_TO_XYZ / D65_WHITE[:, None])
    fx, fy, fz = (_f(xp, xyz[..., i]) for i in range(3))
    return tf.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], axis=-1)
