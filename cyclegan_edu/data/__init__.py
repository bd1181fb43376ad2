"""Images in and out: the paper's image folders, their downloads, the embedded toy set, your own folders.

    image_folders     reading trainA/trainB/testA/testB folders, the paper's preprocessing (Appendix 7.1)
    downloads         fetching the paper's datasets and the authors' pretrained generators
    toy_horse2zebra   the generated offline dataset with exact ground truth
    prepare_folders   turning two folders of your own images into that layout
    cache             where built and downloaded files are kept
"""
