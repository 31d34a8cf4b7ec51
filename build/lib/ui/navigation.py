"""The app's pages: each one's key, file and title (app.py lays them out with st.navigation; a page
names its key to ensure_app_shell, and the teacher's lead names the page by it)."""

from __future__ import annotations

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
TITLES = {
    "explorer": "Latent explorer", "train": "Train", "reconstruction": "Reconstruction errors",
    "compare": "Compare digits", "runs": "Compare runs", "lesson": "Lesson", "class_map": "Class map",
    "classroom": "Classroom",
}
