"""Classroom mode: a teacher and students on one server (`make classroom`). Who is who and who may
do what (people), the teacher code (codes), what the teacher allows and what a request costs
(limits), what every session shares and the policy the training queue applies (state), the actions
pages call (actions), and how students join (launch). Pure Python, no Streamlit: the pages ask
these, and every action is checked where it acts.

The names below are the package's whole surface, so callers write `classroom.may_change(...)`.
"""

from vae.classroom.actions import Cleared, Ended, clear_student_runs, delete_run, end_class, pause_students
from vae.classroom.codes import (
    TEACHER_CODE_ENV,
    check_teacher_code,
    code_matches,
    fixed_teacher_code,
    new_teacher_code,
    normalise_code,
)
from vae.classroom.launch import (
    CLASSROOM_ENV,
    JOIN_ADDRESS_ENV,
    JOIN_PORT_ENV,
    join_address,
    join_url,
    lan_address,
    main,
)
from vae.classroom.limits import LIMIT_RANGES, STUDENT_MAX_MEMORY_BYTES, Limits, check_capacity, check_training
from vae.classroom.people import (
    LOCAL,
    MAX_NAMES_PER_DEVICE,
    STUDENT,
    TEACHER,
    THIS_MACHINE,
    ClassroomError,
    Person,
    key_hash,
    may_change,
    may_see,
    name_identity,
    new_student_key,
    owner_role,
    owns,
    require_teacher,
    student_name,
    validate_student_name,
)
from vae.classroom.state import ClassroomPolicy, ClassroomState

__all__ = [
    "CLASSROOM_ENV", "JOIN_ADDRESS_ENV", "JOIN_PORT_ENV", "LIMIT_RANGES", "LOCAL", "MAX_NAMES_PER_DEVICE", "STUDENT",
    "STUDENT_MAX_MEMORY_BYTES", "TEACHER", "TEACHER_CODE_ENV", "THIS_MACHINE", "ClassroomError", "ClassroomPolicy",
    "ClassroomState", "Cleared", "Ended", "Limits", "Person", "check_capacity", "check_teacher_code", "check_training",
    "clear_student_runs", "code_matches", "delete_run", "end_class", "fixed_teacher_code", "join_address", "join_url",
    "key_hash", "lan_address", "main", "may_change", "may_see", "name_identity", "new_student_key", "new_teacher_code",
    "normalise_code", "owner_role", "owns", "pause_students", "require_teacher", "student_name",
    "validate_student_name",
]
