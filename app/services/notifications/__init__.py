"""Admin notifications: listed for admins, and POSTed to the notification URL when one is set."""

from app.services.notifications.jobs import DELIVERY_JOB, run_notification_delivery
from app.services.notifications.repository import INDEXES, Notification, NotificationPage
from app.services.notifications.service import Notifications

__all__ = [
    "DELIVERY_JOB",
    "INDEXES",
    "Notification",
    "NotificationPage",
    "Notifications",
    "run_notification_delivery",
]
