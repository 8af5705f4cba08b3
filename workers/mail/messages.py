"""The mails users receive: a plain-text body and an HTML alternative, both with the link."""

from email.message import EmailMessage
from html import escape


def confirmation_link(frontend_url: str, token: str) -> str:
    return f"{frontend_url.rstrip('/')}/confirm-email/{token}"


def reset_link(frontend_url: str, token: str) -> str:
    return f"{frontend_url.rstrip('/')}/reset-password/{token}"


def confirmation_mail(sender: str, recipient: str, link: str, valid_hours: int) -> EmailMessage:
    return _compose(
        sender,
        recipient,
        subject="Confirm your email address",
        intro="Welcome to Effi. Confirm your email address to finish creating your account.",
        action="Confirm my email",
        link=link,
        validity=f"The link is valid for {valid_hours} hours.",
        ignore="If you did not create an account, ignore this mail.",
    )


def reset_mail(sender: str, recipient: str, link: str, valid_minutes: int) -> EmailMessage:
    return _compose(
        sender,
        recipient,
        subject="Reset your password",
        intro="Someone asked to reset the password of your Effi account.",
        action="Choose a new password",
        link=link,
        validity=f"The link works once, for {valid_minutes} minutes.",
        ignore="If it was not you, ignore this mail: your password stays as it is.",
    )


def _compose(
    sender: str,
    recipient: str,
    *,
    subject: str,
    intro: str,
    action: str,
    link: str,
    validity: str,
    ignore: str,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject

    message.set_content(f"{intro}\n\n{action}:\n{link}\n\n{validity}\n{ignore}\n")
    message.add_alternative(
        "<!doctype html><html><body>"
        f"<p>{escape(intro)}</p>"
        f'<p><a href="{escape(link, quote=True)}">{escape(action)}</a></p>'
        f"<p>{escape(validity)}<br>{escape(ignore)}</p>"
        "</body></html>",
        subtype="html",
    )

    return message
