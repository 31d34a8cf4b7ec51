"""The limits a teacher sets, and how a request is weighed against them: what one training may
cost (estimated from its config by vae.cost), and how many trainings and bytes a student, a device
and the whole class may have. None binds the teacher: students' load never refuses the teacher's
work. What is queued and saved is counted by the queue, under its lock (vae.jobs.queue.Load)."""

from __future__ import annotations

from dataclasses import dataclass

from vae import cost
from vae.classroom.people import MAX_NAMES_PER_DEVICE, STUDENT, ClassroomError, Person, owner_role
from vae.config import MNIST_TRAIN_SIZE, TrainConfig
from vae.errors import LabError
from vae.i18n import N_, _, ngettext

STUDENT_MAX_MEMORY_BYTES = 2_000_000_000  # one student job's batches (vae.cost.memory_bytes)


LIMIT_RANGES = {  # field: (low, high, what a person reads: marked here, shown through _())
    "jobs": (1, 5, N_("Trainings per student")),
    "jobs_per_device": (1, 50, N_("Trainings per device")),
    "class_jobs": (1, 200, N_("Student trainings in all")),
    "epochs": (1, 200, N_("Epochs at most")),
    "images": (256, MNIST_TRAIN_SIZE, N_("Training images at most")),
    "minutes": (1, 60, N_("Minutes of training at most")),
    "disk_mb": (1, 10_000, N_("Disk per student (MB)")),
    "class_disk_mb": (10, 100_000, N_("Disk for all students (MB)")),
    "names_per_device": (1, 500, N_("Students per device")),
}


@dataclass(frozen=True)
class Limits:
    """What students may ask of the training queue (the teacher sets them; none binds the teacher)."""

    jobs: int = 1  # one student's trainings queued or running at once
    jobs_per_device: int = 2  # ... from one address, whatever names and keys its sessions use
    class_jobs: int = 30  # ... of every student together
    epochs: int = 10
    images: int = MNIST_TRAIN_SIZE
    minutes: int = 3  # of training, as estimated on this machine (vae.cost): bounds width, batch, architecture
    disk_mb: int = 50  # saved runs per student
    class_disk_mb: int = 2_000  # saved runs of every student together
    # Names given from one address. A school whose student Wi-Fi reaches the laptop through one
    # address (NAT) raises this and jobs_per_device: every device there is the same address.
    names_per_device: int = MAX_NAMES_PER_DEVICE

    def __post_init__(self):
        for field_name, (low, high, label) in LIMIT_RANGES.items():
            value = getattr(self, field_name)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise ClassroomError(_("{label}: must be a whole number from {low} to {high}.").format(
                    label=_(label), low=low, high=high))


def check_training(person: Person, config: TrainConfig, limits: Limits) -> None:
    """Raise ClassroomError, in one sentence, if this person may not ask for this training at all
    (how many they, their device and the class have running is the queue's to count, under its
    lock: see ClassroomPolicy.check_capacity). Its cost is worked out from the config alone."""
    if person.is_teacher:
        return
    if not person.name:
        raise ClassroomError(_("Type your name first: your runs are marked with it."))
    check_within(config, limits)


def limits_from(record: dict) -> Limits:
    """Limits sent with a training (vae.classroom.state.ClassroomPolicy.limits_for), checked as the
    teacher's settings are; ClassroomError if they cannot be read."""
    try:
        return Limits(**{name: record[name] for name in Limits.__dataclass_fields__ if name in record})
    except (TypeError, ValueError, LabError) as error:
        raise ClassroomError(_("The class's limits sent with this training cannot be read ({error}).").format(
            error=error)) from None


def check_within(config: TrainConfig, limits: Limits) -> None:
    """What a student's config alone may not pass (a training process checks it again, from the
    limits sent with the job: a request that got past the web server still does not run)."""
    if config.epochs > limits.epochs:
        raise ClassroomError(ngettext("In this class a training may have at most {count} epochs.",
                                      "In this class a training may have at most {count} epochs.",
                                      limits.epochs).format(count=limits.epochs))
    if (config.train_subset or MNIST_TRAIN_SIZE) > limits.images:
        raise ClassroomError(_("In this class a training may use at most {count:,} training images "
                               "(set “Training images” lower).").format(count=limits.images))
    seconds = cost.estimated_seconds(config)
    if seconds > 60 * limits.minutes:
        raise ClassroomError(_("This training would take about {duration} here; this class allows at most {minutes} "
                               "min per training. Use fewer epochs, images or hidden units, the dense architecture, "
                               "or a larger batch.").format(duration=cost.duration_text(seconds),
                                                            minutes=limits.minutes))
    if cost.memory_bytes(config) > STUDENT_MAX_MEMORY_BYTES:
        raise ClassroomError(_("This training would need about {needed:.1f} GB of memory; a student's may use "
                               "{allowed:.0f} GB. Use a smaller batch.").format(
            needed=cost.memory_bytes(config) / 1e9, allowed=STUDENT_MAX_MEMORY_BYTES / 1e9))


FREE_DISK_MARGIN_BYTES = 200_000_000  # never fill the disk: the server, its logs and the OS need room


def check_capacity(person: Person, config: TrainConfig, limits: Limits, load) -> None:
    """Raise ClassroomError if queueing this training now would pass a limit (`load`: what the
    queue counted, a vae.jobs.queue.Load). The teacher is bound only by the disk itself: students'
    load never refuses the teacher's work."""
    needed = cost.run_bytes(config)
    if load.free_bytes - needed < FREE_DISK_MARGIN_BYTES:
        raise ClassroomError(_("The disk is nearly full ({free:,.0f} MB free): delete some runs before training "
                               "another.").format(free=max(load.free_bytes, 0) / 1e6))
    if person.is_teacher:
        return
    if load.owner_jobs >= limits.jobs:
        raise ClassroomError(ngettext(
            "You already have {count} training queued or running, the most this class allows; wait for it to "
            "finish or cancel it.",
            "You already have {count} trainings queued or running, the most this class allows; wait for one to "
            "finish or cancel it.", load.owner_jobs).format(count=load.owner_jobs))
    if load.device_jobs >= limits.jobs_per_device:
        raise ClassroomError(ngettext(
            "This device already has {count} training queued or running, the most this class allows per device; "
            "wait for it to finish.",
            "This device already has {count} trainings queued or running, the most this class allows per device; "
            "wait for one to finish.", load.device_jobs).format(count=load.device_jobs))
    if load.class_jobs >= limits.class_jobs:
        raise ClassroomError(ngettext(
            "The class already has {count} trainings queued or running, the most the teacher allows; try again when "
            "some have run.",
            "The class already has {count} trainings queued or running, the most the teacher allows; try again when "
            "some have run.", load.class_jobs).format(count=load.class_jobs))
    if load.owner_bytes + needed > limits.disk_mb * 1_000_000:
        raise ClassroomError(_("Your runs take {used:.0f} MB and this one would add about {needed:.0f} MB; each "
                               "student may keep {allowed} MB. Delete one of yours first.").format(
            used=load.owner_bytes / 1e6, needed=needed / 1e6, allowed=limits.disk_mb))
    if load.class_bytes + needed > limits.class_disk_mb * 1_000_000:
        raise ClassroomError(_("Students' runs take {used:.0f} MB, the most the teacher allows is {allowed} MB; ask "
                               "the teacher to clear some.").format(used=load.class_bytes / 1e6,
                                                                   allowed=limits.class_disk_mb))


def time_limit_seconds(owner: dict | None, limits: Limits) -> float | None:
    """How long a job may run before it is stopped (its partial run kept): a student's, twice
    their estimate's limit (estimates err) and at least a minute more; the teacher's: no limit."""
    if owner_role(owner) != STUDENT:
        return None
    return max(2 * 60 * limits.minutes, 60 * limits.minutes + 60)
