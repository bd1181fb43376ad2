"""The image history buffer (paper Section 4, "Training details"; Shrivastava et al. 2017).

To reduce model oscillation, the discriminators are updated with a history of generated images
rather than only the latest ones: a pool of the 50 most recently stored fakes. Official logic, per
image: while the pool is not full, store the new fake and return it; once full, with probability
0.5 return a random stored image and put the new one in its place, else return the new one.
"""

from __future__ import annotations

import random
from typing import Any

import torch


class ImagePool:
    """History of generated images with its own seeded RNG (never Python's global `random`).

    Args:
        size: images kept (50 in the paper); 0 turns the buffer off and `query` returns its input.
        seed: seeds the pool's private `random.Random`.
    """

    def __init__(self, size: int = 50, seed: int = 0) -> None:
        if size < 0:
            raise ValueError(f"pool size={size} must be 0 (off) or positive (paper: 50).")
        self.size = size
        self.images: list[torch.Tensor] = []
        self.rng = random.Random(seed)

    def query(self, images: torch.Tensor) -> torch.Tensor:
        """Return a batch like `images` (N, C, H, W), mixing in history; stores detached copies."""
        if self.size == 0:
            return images
        returned = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.size:  # fill first
                self.images.append(image)
                returned.append(image)
            elif self.rng.uniform(0, 1) > 0.5:  # swap with a random stored image
                slot = self.rng.randint(0, self.size - 1)
                returned.append(self.images[slot].clone())
                self.images[slot] = image
            else:
                returned.append(image)
        return torch.cat(returned, 0)

    def state_dict(self) -> dict[str, Any]:
        """Stored images and RNG state, so a resumed run draws exactly what it would have."""
        return {"size": self.size, "images": [image.cpu() for image in self.images], "rng": self.rng.getstate()}

    def load_state_dict(self, state: dict[str, Any], device: torch.device | str = "cpu") -> None:
        self.size = state["size"]
        self.images = [image.to(device) for image in state["images"]]
        self.rng.setstate(state["rng"])
