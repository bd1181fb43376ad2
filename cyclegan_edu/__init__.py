"""cyclegan_edu: CycleGAN (Zhu, Park, Isola, Efros, ICCV 2017) built one idea at a time."""

__version__ = "0.1.0"
