"""nbgrader's configuration for a course made from cyclegan_edu's notebooks (README: "Grading with nbgrader").

Copy this file into your course folder, the one holding `source/`; nbgrader keeps its `gradebook.db` there.
Nothing of nbgrader's own checks is turned off: the notebooks carry nbgrader's cell metadata.
"""

c = get_config()  # noqa: F821 (nbgrader defines get_config when it reads this file)

c.CourseDirectory.course_id = "cyclegan_edu"

# Autograding runs every cell of a submission. nbgrader's default of 30 s per cell is too short for a
# training cell at the notebooks' CPU defaults (notebook 07's longest cell takes minutes on 2 cores).
c.Execute.timeout = 1800
