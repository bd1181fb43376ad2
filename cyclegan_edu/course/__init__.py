"""What the notebooks teach with, on top of the model: experiments, checkers, widgets, plots, grading.

    diagram             notebook 00: G, F, D_X, D_Y and both cycles in one picture (Fig. 3)
    toy2d               the 2-D toolkit of notebooks 01 to 05: mixtures, mode coverage, a small GAN
    ring_translation    notebook 03: translating a ring to a rotated ring, with and without Eq. 2
    lsgan_experiment    notebook 04: fakes far on the real side of a fixed D, moved by each loss
    history_experiment  notebook 05: a 2-D GAN whose discriminator learns from a history of fakes
    patch_maps          notebook 06: D_Y's patch scores on the animal and on the background
    tint_task           notebook 07: the tint task that shows what the identity loss keeps
    exercises           checkers for the students' answers
    widgets, plots      notebook 08's ablation panel and live training view
    run_plan            notebook 08's parameters -> the run it trains, and its results.json
    grading             running notebook 08 once per row of a grid with papermill
    publish             the student notebooks from the solutions: stripped (nbgrader), executed
    environment         the banner at the top of every notebook
"""
