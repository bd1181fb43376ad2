"""Images in and out: the paper's image folders, their downloads, the embedded toy set, your own folders.

    image_folders     reading trainA/trainB/testA/testB folders, the paper's preprocessing (Appendix 7.1)
    catalog           what the authors publish: datasets, pretrained generators, mirrors
    downloads         fetching them: resumable, with a deadline, checked before kept
    file_checks       what a downloaded file holds (an HTML page? plain tensors? the right size?)
    archives          unpacking a dataset's zip safely
    toy_horse2zebra   the generated offline dataset with exact ground truth
    prepare_folders   turning two folders of your own images into that layout
    cache             where built and downloaded files are kept
"""
