"""The app's pages: each one's key, file and title (app.py lays them out with st.navigation; a page
names its key to ensure_app_shell, and the teacher's lead names the page by it)."""

from __future__ import annotations

from vae.i18n import N_

PAGES = {
    "explorer": "pages/explorer.py",
    "train": "pages/train.py",
    "reconstruction": "pages/reconstruction.py",
    "compare": "pages/compare.py",
    "runs": "pages/runs.py",
    "lesson": "pages/lesson.py",
    "class_map": "pages/class_map.py",
    "classroom": "pages/classroom.py",
}
TITLES = {  # marked here, translated where shown: _(TITLES[key])
    "explorer": N_("Latent explorer"), "train": N_("Train"), "reconstruction": N_("Reconstruction errors"),
    "compare": N_("Compare digits"), "runs": N_("Compare runs"), "lesson": N_("Lesson"), "class_map": N_("Class map"),
    "classroom": N_("Classroom"),
}
