"""Structure module (AlphaFold 2 Algorithm 20) and all-atom construction (Algorithm 24).

Eight shared-weight iterations of invariant point attention, a transition
and a backbone frame update turn the single and pair representations into
per-residue backbone frames; an angle ResNet predicts seven torsions
(ω, φ, ψ, χ1–χ4), from which the rigid-group frames and the atom14
coordinates follow using the idealised geometry of each residue type.
"""

from __future__ import annotations

import torch
from torch import nn

from remyfold.model.config import StructureModuleConfig
from remyfold.model.ipa import InvariantPointAttention
from remyfold.model.residue_tables import residue_tables
from remyfold.model.rigid import Rigid, Rotation


class AngleResnet(nn.Module):
    """Torsion-angle ResNet (Algorithm 20, lines 11–14); returns raw and unit-normalised (sin, cos)."""

    def __init__(self, c_s: int, c_resnet: int, num_blocks: int, num_angles: int, eps: float):
        super().__init__()
        self.eps = eps
        self.linear_in = nn.Linear(c_s, c_resnet)
        self.linear_initial = nn.Linear(c_s, c_resnet)
        self.layers = nn.ModuleList(
            nn.ModuleDict({"linear_1": nn.Linear(c_resnet, c_resnet), "linear_2": nn.Linear(c_resnet, c_resnet)})
            for _ in range(num_blocks)
        )
        self.linear_out = nn.Linear(c_resnet, num_angles * 2)

    def forward(self, s: torch.Tensor, s_initial: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """s, s_initial ``[B, L, C_s]`` → (raw, normalised) angles ``[B, L, num_angles, 2]``."""
        relu = torch.relu
        a = self.linear_in(relu(s)) + self.linear_initial(relu(s_initial))
        for layer in self.layers:
            a = a + layer["linear_2"](relu(layer["linear_1"](relu(a))))
        raw = self.linear_out(relu(a))
        # [B, L, 2*A] -> [B, L, A, 2]
        raw = raw.view(*raw.shape[:-1], -1, 2)
        norm = torch.sqrt(torch.clamp((raw**2).sum(dim=-1, keepdim=True), min=self.eps))
        return raw, raw / norm


class Transition(nn.Module):
    """Structure-module transition: residual 3-layer ReLU MLP(s), then LayerNorm."""

    def __init__(self, c_s: int, num_layers: int):
        super().__init__()
        self.layers = nn.ModuleList(
            nn.ModuleDict({f"linear_{i}": nn.Linear(c_s, c_s) for i in (1, 2, 3)}) for _ in range(num_layers)
        )
        self.layer_norm = nn.LayerNorm(c_s)

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            h = torch.relu(layer["linear_2"](torch.relu(layer["linear_1"](s))))
            s = s + layer["linear_3"](h)
        return self.layer_norm(s)


def torsion_angles_to_frames(backbone: Rigid, angles: torch.Tensor, default_frames: torch.Tensor) -> Rigid:
    """Rigid-group frames in global coordinates (Algorithm 24, lines 1–10).

    Args:
        backbone: ``[B, L]`` backbone frames (Å).
        angles: ``[B, L, 7, 2]`` (sin, cos) of ω, φ, ψ, χ1–χ4.
        default_frames: ``[B, L, 8, 4, 4]`` rigid-group frames of each residue at zero torsion.

    Returns:
        ``[B, L, 8]`` frames: backbone, pre-ω, φ, ψ, χ1–χ4.
    """
    # Prepend the identity "rotation" of the backbone group: (sin, cos) = (0, 1).
    bb = angles.new_zeros(*angles.shape[:-2], 1, 2)
    bb[..., 1] = 1
    sin, cos = torch.cat([bb, angles], dim=-2).unbind(-1)
    # Rotation about x by each torsion: [B, L, 8, 3, 3]
    rot = angles.new_zeros(*sin.shape, 3, 3)
    rot[..., 0, 0] = 1
    rot[..., 1, 1], rot[..., 1, 2] = cos, -sin
    rot[..., 2, 1], rot[..., 2, 2] = sin, cos
    frames = Rigid.from_4x4(default_frames).compose(Rigid(Rotation(rot), rot.new_zeros(*sin.shape, 3)))
    # Chain χ2..χ4 onto χ1 so every group is expressed relative to the backbone.
    chain = [_index(frames, 4)]
    for k in (5, 6, 7):
        chain.append(chain[-1].compose(_index(frames, k)))
    stacked = Rigid(
        Rotation(torch.cat([frames.rot.mats[..., :4, :, :]] + [c.rot.mats.unsqueeze(-3) for c in chain], dim=-3)),
        torch.cat([frames.trans[..., :4, :]] + [c.trans.unsqueeze(-2) for c in chain], dim=-2),
    )
    return backbone.unsqueeze(-1).compose(stacked)


def _index(rigid: Rigid, k: int) -> Rigid:
    """The k-th rigid group ``[B, L]`` of ``[B, L, 8]`` frames."""
    return Rigid(Rotation(rigid.rot.mats[..., k, :, :]), rigid.trans[..., k, :])


def frames_to_atom14(frames: Rigid, group: torch.Tensor, atom_mask: torch.Tensor, lit: torch.Tensor) -> torch.Tensor:
    """Atom14 coordinates from group frames (Algorithm 24, line 11).

    Args:
        frames: ``[B, L, 8]`` global rigid-group frames.
        group: ``[B, L, 14]`` rigid group of each atom.  atom_mask: ``[B, L, 14]``.
        lit: ``[B, L, 14, 3]`` literature positions in the group frame.

    Returns:
        ``[B, L, 14, 3]`` coordinates (zero for absent atoms).
    """
    # Pick each atom's group frame: [B, L, 14, 3, 3] and [B, L, 14, 3]
    idx = group[..., None, None].expand(*group.shape, 3, 3)
    rots = torch.gather(frames.rot.mats, -3, idx)
    trans = torch.gather(frames.trans, -2, group[..., None].expand(*group.shape, 3))
    return Rigid(Rotation(rots), trans).apply(lit) * atom_mask.unsqueeze(-1)


class StructureModule(nn.Module):
    """Args: config: the structure module's dimensions (its leaf layers get plain numbers)."""

    def __init__(self, config: StructureModuleConfig):
        super().__init__()
        c = config
        self.num_blocks, self.trans_scale_factor = c.num_blocks, c.trans_scale_factor
        self.layer_norm_s = nn.LayerNorm(c.sequence_dim)
        self.layer_norm_z = nn.LayerNorm(c.pairwise_dim)
        self.linear_in = nn.Linear(c.sequence_dim, c.sequence_dim)
        self.ipa = InvariantPointAttention(
            c.sequence_dim, c.pairwise_dim, c.ipa_dim, c.num_heads_ipa, c.num_qk_points, c.num_v_points, c.inf, c.epsilon
        )
        self.layer_norm_ipa = nn.LayerNorm(c.sequence_dim)
        self.transition = Transition(c.sequence_dim, c.num_transition_layers)
        self.bb_update = nn.ModuleDict({"linear": nn.Linear(c.sequence_dim, 6)})
        self.angle_resnet = AngleResnet(c.sequence_dim, c.resnet_dim, c.num_resnet_blocks, c.num_angles, c.epsilon)
        tables = residue_tables()
        for name in ("default_frames", "atom14_group", "atom14_mask", "atom14_positions"):
            self.register_buffer(name, torch.from_numpy(getattr(tables, name)), persistent=False)

    def forward(self, s: torch.Tensor, z: torch.Tensor, aatype: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """s ``[B, L, C_s]``, z ``[B, L, L, C_z]``, aatype ``[B, L]``, mask ``[B, L]`` float.

        Returns ``states`` ``[blocks, B, L, C_s]`` and ``positions`` ``[blocks, B, L, 14, 3]`` (Å),
        plus ``frames`` ``[blocks, B, L, 4, 4]`` and ``angles`` ``[blocks, B, L, 7, 2]``.
        """
        s = self.layer_norm_s(s)
        z = self.layer_norm_z(z)
        s_initial = s
        s = self.linear_in(s)
        rigids = Rigid.identity(s.shape[:-1], s.dtype, s.device)
        outputs: dict[str, list[torch.Tensor]] = {"states": [], "positions": [], "frames": [], "angles": []}
        for _ in range(self.num_blocks):
            s = self.layer_norm_ipa(s + self.ipa(s, z, rigids, mask))
            s = self.transition(s)
            rigids = rigids.compose_update(self.bb_update["linear"](s))
            backbone = rigids.scale_translation(self.trans_scale_factor)
            _, angles = self.angle_resnet(s, s_initial)
            outputs["positions"].append(self._atom14(backbone, angles, aatype))
            outputs["states"].append(s)
            outputs["frames"].append(backbone.to_4x4())
            outputs["angles"].append(angles)
        return {k: torch.stack(v) for k, v in outputs.items()}

    def _atom14(self, backbone: Rigid, angles: torch.Tensor, aatype: torch.Tensor) -> torch.Tensor:
        """``[B, L, 14, 3]`` atom positions from backbone frames and torsions."""
        default = self.default_frames.to(angles.dtype)[aatype]
        frames = torsion_angles_to_frames(backbone, angles, default)
        lit = self.atom14_positions.to(angles.dtype)[aatype]
        return frames_to_atom14(frames, self.atom14_group[aatype], self.atom14_mask.to(angles.dtype)[aatype], lit)
