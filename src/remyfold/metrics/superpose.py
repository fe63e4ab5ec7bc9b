"""Optimal rigid superposition (Kabsch algorithm), batched over point subsets.

The TM-score search superposes the same two point sets many times, each time on
a different subset of the residue pairs; :func:`kabsch` therefore takes a batch
of 0/1 weights ``[B, n]`` and solves all ``B`` superpositions with one batched
SVD.
"""

from __future__ import annotations

import numpy as np


def kabsch(mobile: np.ndarray, target: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotations and translations that best superpose ``mobile`` onto ``target``.

    Minimises ``sum_i w_bi |R_b x_i + t_b - y_i|^2`` for each batch row ``b``
    (Kabsch 1976: SVD of the weighted covariance, with a reflection fix).

    Args:
        mobile: ``[n, 3]`` points ``x`` to move.
        target: ``[n, 3]`` corresponding points ``y``.
        weights: ``[B, n]`` non-negative weights (0/1 selects a subset); each row
            needs a positive sum.

    Returns:
        ``(rotation [B, 3, 3], translation [B, 3])``; apply as ``x @ R.T + t``.
    """
    weights = np.asarray(weights, dtype=np.float64)
    total = weights.sum(axis=1, keepdims=True)  # [B, 1]
    mobile_centre = weights @ mobile / total  # [B, 3]
    target_centre = weights @ target / total  # [B, 3]
    # Weighted covariance H_b = sum_i w_bi x_i y_i^T - W_b cx_b cy_b^T, as [B, n, 3]^T @ [n, 3].
    weighted = weights[:, :, None] * mobile[None, :, :]
    covariance = np.matmul(weighted.transpose(0, 2, 1), target)
    covariance -= total[:, :, None] * mobile_centre[:, :, None] * target_centre[:, None, :]
    return rigid_from_covariance(covariance, mobile_centre, target_centre)


def rigid_from_covariance(covariance: np.ndarray, mobile_centre: np.ndarray,
                          target_centre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Kabsch's optimal rotation from centred covariances ``[B, 3, 3]`` and the centres ``[B, 3]``.

    Returns ``(rotation [B, 3, 3], translation [B, 3])`` mapping mobile onto target as ``x @ R.T + t``.
    """
    u, _, vt = np.linalg.svd(covariance)
    # R = V diag(1, 1, d) U^T with d = sign(det(V U^T)) so that R is a proper rotation.
    sign = np.sign(np.linalg.det(np.matmul(vt.transpose(0, 2, 1), u.transpose(0, 2, 1))))
    sign[sign == 0] = 1.0
    vt[:, 2, :] *= sign[:, None]
    rotation = np.matmul(vt.transpose(0, 2, 1), u.transpose(0, 2, 1))
    translation = target_centre - np.einsum("bij,bj->bi", rotation, mobile_centre)
    return rotation, translation


def transform(points: np.ndarray, rotation: np.ndarray, translation: np.ndarray) -> np.ndarray:
    """Apply a batch of rigid transforms: ``[n, 3]`` points -> ``[B, n, 3]``."""
    # x @ R_b^T for every b: einsum over the coordinate axis j.
    return np.einsum("bij,nj->bni", rotation, points) + translation[:, None, :]


def superposed_rmsd(mobile: np.ndarray, target: np.ndarray) -> float:
    """RMSD in Å between ``[n, 3]`` point sets after optimal superposition of all pairs."""
    rotation, translation = kabsch(mobile, target, np.ones((1, len(mobile))))
    moved = transform(mobile, rotation, translation)[0]
    return float(np.sqrt(np.mean(np.sum((moved - target) ** 2, axis=1))))
