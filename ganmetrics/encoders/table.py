"""The encoder table: which networks turn images into the features the metrics compare.

:data:`ENCODER_TABLE` is the one owner of these facts, like :data:`ganmetrics.metrics.METRIC_TABLE`
for metrics. Each row names the feature space, how an image reaches the network (size, resize,
normalisation), which layer or token is read, the weight files it accepts and the SHA-256s of the
official ones, and the library that defines the architecture. The code of each encoder lives in
the module the row names (``ganmetrics.encoders.<module>``), imported only when the encoder runs,
so this table stays torch-free for ``--help``. Adding an encoder means one module plus one row.

``inception`` is the default: the paper's network through :class:`ganmetrics.features.
FeatureExtractor`, numbers unchanged. The others follow the code that produced the published
numbers (see docs/protocol.md):

* ``dinov2-vitl14``: FD_DINOv2 of Stein et al. (NeurIPS 2023), layer6ai-labs/dgm-eval
  ``dgm_eval/models/dinov2.py``: PIL bicubic resize to 224×224, ImageNet normalisation, the
  DINOv2 ViT-L/14 CLS token after the final norm (1024-d).
* ``clip-vitl14``: dgm-eval ``dgm_eval/models/clip.py``: PIL bicubic resize to the model's size
  (224), CLIP normalisation, ``ln_post`` of the CLS token, *before* the projection (1024-d).
* ``clip-vitl14-336``: the CMMD reference (Jayasumana et al., CVPR 2024), google-research
  ``cmmd/io_util.py`` and ``embedding.py``: square centre crop, PIL bicubic resize to 336,
  CLIP normalisation, the projected image embedding, L2-normalised (768-d).
"""

from __future__ import annotations

from dataclasses import dataclass

from ganmetrics.errors import InputError

#: One folder may hold every encoder's weights, under the names in ``official_files``.
WEIGHTS_DIR_ENV = "GANMETRICS_WEIGHTS_DIR"


@dataclass(frozen=True)
class Encoder:
    """One row of the encoder table."""

    name: str
    space: str  # the feature space in labels: FD_{space}@10k
    dim: int  # feature dimension of the official weights
    input_size: str  # what the network sees
    resize: str  # how an image gets there
    normalisation: str
    read: str  # the layer or token whose output is the feature
    weight_formats: tuple[str, ...]  # file formats accepted
    official_files: tuple[str, ...]  # the published file names (looked up in the weights folder)
    #: SHA-256 of the official files, where the reference code or its documentation publishes
    #: one; an empty set means none is published, so ``standard_weights`` cannot be true.
    known_sha256: frozenset[str]
    library: str  # the library defining the architecture
    get_weights: str  # where users get the file
    module: str  # ganmetrics.encoders.<module> holds its code
    reference: str  # the code whose numbers it reproduces

    @property
    def env_var(self) -> str:
        """``GANMETRICS_DINOV2_VITL14_WEIGHTS`` for ``dinov2-vitl14``."""
        return "GANMETRICS_" + self.name.upper().replace("-", "_") + "_WEIGHTS"


_OPENAI_CLIP_URL = "https://openaipublic.azureedge.net/clip/models/{sha}/{file}"
_OPENAI_L14_336_SHA = "3035c92b350959924f9f00213499208652fc7ea050643e8b385c2dac08641f02"

ENCODER_TABLE: dict[str, Encoder] = {
    "inception": Encoder(
        name="inception", space="Inception", dim=2048, input_size="299×299",
        resize="TensorFlow-1 bilinear (align_corners=False)",
        normalisation="(x − 128) / 128", read="pool3 (and logits_unbiased for IS)",
        weight_formats=("torch-fidelity .pth",),
        official_files=("weights-inception-2015-12-05-6726825d.pth",),
        known_sha256=frozenset(
            {"6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"}
        ),
        library="torch-fidelity", module="inception",
        get_weights="https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
                    "weights-inception-2015-12-05-6726825d.pth",
        reference="the TF FID/IS code (via torch-fidelity)",
    ),
    "dinov2-vitl14": Encoder(
        name="dinov2-vitl14", space="DINOv2", dim=1024, input_size="224×224",
        resize="PIL bicubic to 224×224 (no crop), on uint8",
        normalisation="ImageNet mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225)",
        read="CLS token after the final LayerNorm (x_norm_clstoken)",
        weight_formats=("torch.hub DINOv2 checkpoint .pth (state dict)",),
        official_files=("dinov2_vitl14_pretrain.pth",),
        known_sha256=frozenset(),  # facebookresearch/dinov2 publishes no hash
        library="timm (vit_large_patch14_dinov2)", module="dinov2",
        get_weights="https://dl.fbaipublicfiles.com/dinov2/dinov2_vitl14/"
                    "dinov2_vitl14_pretrain.pth",
        reference="layer6ai-labs/dgm-eval dgm_eval/models/dinov2.py (torch.hub dinov2_vitl14)",
    ),
    "clip-vitl14": Encoder(
        name="clip-vitl14", space="CLIP", dim=1024, input_size="224×224",
        resize="PIL bicubic to 224×224 (no crop), on uint8",
        normalisation="CLIP mean (0.4815, 0.4578, 0.4082), std (0.2686, 0.2613, 0.2758)",
        read="ln_post of the CLS token, before the projection",
        weight_formats=("open_clip .safetensors / .bin", "OpenAI CLIP .pt (TorchScript or state "
                        "dict)"),
        official_files=("open_clip_model.safetensors", "open_clip_pytorch_model.bin"),
        known_sha256=frozenset(),  # open_clip's hf-hub files carry no hash in the references
        library="open_clip_torch (ViT-L-14, datacomp_xl_s13b_b90k)", module="clip_vitl14",
        get_weights="https://huggingface.co/laion/CLIP-ViT-L-14-DataComp.XL-s13B-b90K "
                    "(open_clip_model.safetensors)",
        reference="layer6ai-labs/dgm-eval dgm_eval/models/clip.py (open_clip ViT-L-14)",
    ),
    "clip-vitl14-336": Encoder(
        name="clip-vitl14-336", space="CLIP336", dim=768, input_size="336×336",
        resize="square centre crop, then PIL bicubic to 336×336, on uint8",
        normalisation="CLIP mean (0.4815, 0.4578, 0.4082), std (0.2686, 0.2613, 0.2758)",
        read="projected image embedding, L2-normalised",
        weight_formats=("OpenAI CLIP .pt (TorchScript or state dict)",
                        "open_clip .safetensors / .bin"),
        official_files=("ViT-L-14-336px.pt",),
        # OpenAI's download URL embeds the file's SHA-256 (openai/CLIP and open_clip's
        # pretrained.py check it after downloading).
        known_sha256=frozenset({_OPENAI_L14_336_SHA}),
        library="open_clip_torch (ViT-L-14-336, QuickGELU)", module="clip_vitl14_336",
        get_weights=_OPENAI_CLIP_URL.format(sha=_OPENAI_L14_336_SHA, file="ViT-L-14-336px.pt"),
        reference="google-research/google-research cmmd/embedding.py (scenic vit_l14_336px)",
    ),
}  # fmt: skip

#: Every encoder name, in table order; the first is the default.
ENCODERS = tuple(ENCODER_TABLE)
DEFAULT_ENCODER = "inception"


def get_encoder(name: str | None) -> Encoder:
    """The row of ``name`` (``None``: Inception); an unknown name is refused in one line."""
    key = DEFAULT_ENCODER if name is None else str(name)
    if key not in ENCODER_TABLE:
        raise InputError(f"--encoder {key}: unknown encoder; choose from {', '.join(ENCODERS)}")
    return ENCODER_TABLE[key]


__all__ = ["DEFAULT_ENCODER", "ENCODERS", "ENCODER_TABLE", "WEIGHTS_DIR_ENV", "Encoder",
           "get_encoder"]  # fmt: skip
