"""Rigid-body transforms as small value types: :class:`Rotation` and :class:`Rigid`.

A :class:`Rigid` maps local coordinates to global ones, ``x_global = R·x + t``.
Rotations are kept as 3×3 matrices; the structure module's backbone update
(AlphaFold 2 Algorithm 23) composes with a quaternion update, converted to a
matrix on the spot.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Rotation:
    """A batch of rotations as matrices ``[*, 3, 3]``."""

    mats: torch.Tensor

    @staticmethod
    def identity(shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> "Rotation":
        eye = torch.eye(3, dtype=dtype, device=device)
        return Rotation(eye.expand(*shape, 3, 3).clone())

    @staticmethod
    def from_quaternion(quat: torch.Tensor) -> "Rotation":
        """Rotation from (not necessarily unit) quaternions ``[*, 4]`` (w, x, y, z)."""
        quat = quat / torch.linalg.vector_norm(quat, dim=-1, keepdim=True)
        w, x, y, z = quat.unbind(-1)
        rows = (
            (w * w + x * x - y * y - z * z, 2 * (x * y - w * z), 2 * (x * z + w * y)),
            (2 * (x * y + w * z), w * w - x * x + y * y - z * z, 2 * (y * z - w * x)),
            (2 * (x * z - w * y), 2 * (y * z + w * x), w * w - x * x - y * y + z * z),
        )
        return Rotation(torch.stack([torch.stack(r, dim=-1) for r in rows], dim=-2))

    def compose(self, other: "Rotation") -> "Rotation":
        """``self ∘ other``: apply ``other`` first."""
        return Rotation(torch.matmul(self.mats, other.mats))

    def apply(self, pts: torch.Tensor) -> torch.Tensor:
        """Rotate points ``[*, 3]``."""
        # [*, 3, 3] x [*, 3, 1] -> [*, 3]
        return torch.matmul(self.mats, pts.unsqueeze(-1)).squeeze(-1)

    def invert_apply(self, pts: torch.Tensor) -> torch.Tensor:
        """Apply the inverse rotation (the transpose) to points ``[*, 3]``."""
        return torch.matmul(self.mats.transpose(-1, -2), pts.unsqueeze(-1)).squeeze(-1)

    def unsqueeze(self, dim: int) -> "Rotation":
        """Insert a batch dimension (``dim`` counts batch dims only; negative from the end)."""
        dim = dim - 2 if dim < 0 else dim
        return Rotation(self.mats.unsqueeze(dim))


@dataclass(frozen=True)
class Rigid:
    """A batch of rigid transforms: rotation ``[*, 3, 3]`` and translation ``[*, 3]``."""

    rot: Rotation
    trans: torch.Tensor

    @staticmethod
    def identity(shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> "Rigid":
        return Rigid(Rotation.identity(shape, dtype, device), torch.zeros(*shape, 3, dtype=dtype, device=device))

    @staticmethod
    def from_4x4(mats: torch.Tensor) -> "Rigid":
        """From homogeneous matrices ``[*, 4, 4]``."""
        return Rigid(Rotation(mats[..., :3, :3]), mats[..., :3, 3])

    def to_4x4(self) -> torch.Tensor:
        """Homogeneous matrices ``[*, 4, 4]``."""
        out = self.trans.new_zeros(*self.trans.shape[:-1], 4, 4)
        out[..., :3, :3] = self.rot.mats
        out[..., :3, 3] = self.trans
        out[..., 3, 3] = 1.0
        return out

    def compose(self, other: "Rigid") -> "Rigid":
        """``self ∘ other``: apply ``other`` first, then ``self``."""
        return Rigid(self.rot.compose(other.rot), self.rot.apply(other.trans) + self.trans)

    def apply(self, pts: torch.Tensor) -> torch.Tensor:
        """Map local points ``[*, 3]`` to global coordinates."""
        return self.rot.apply(pts) + self.trans

    def invert_apply(self, pts: torch.Tensor) -> torch.Tensor:
        """Map global points ``[*, 3]`` into the local frame."""
        return self.rot.invert_apply(pts - self.trans)

    def unsqueeze(self, dim: int) -> "Rigid":
        """Insert a batch dimension (``dim`` counts batch dims only; negative from the end)."""
        tdim = dim - 1 if dim < 0 else dim
        return Rigid(self.rot.unsqueeze(dim), self.trans.unsqueeze(tdim))

    def scale_translation(self, factor: float) -> "Rigid":
        return Rigid(self.rot, self.trans * factor)

    def compose_update(self, update: torch.Tensor) -> "Rigid":
        """Compose with a backbone update ``[*, 6]`` (AlphaFold 2 Algorithm 23, lines 2–3).

        The first three values are the vector part (b, c, d) of a quaternion
        ``(1, b, c, d)``; the last three a translation in the local frame.
        """
        quat = torch.cat([torch.ones_like(update[..., :1]), update[..., :3]], dim=-1)
        step = Rigid(Rotation.from_quaternion(quat), update[..., 3:])
        return self.compose(step)
