"""Command-line tools: flask --app wsgi create-user | demo | send-mail | send-reminders …"""

from __future__ import annotations

import click
from flask import Flask, current_app

from pathway import MAX_ID
from pathway.auth import accounts
from pathway.db import session
from pathway.models import Role


def init_cli(app: Flask) -> None:
    app.cli.add_command(create_user_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(migrate_command)
    app.cli.add_command(purge_command)
    app.cli.add_command(send_mail_command)
    app.cli.add_command(send_reminders_command)
    app.cli.add_command(reset_two_factor_command)
    app.cli.add_command(create_programme_command)
    app.cli.add_command(add_educator_command)
    app.cli.add_command(log_reference_command)


@click.command("create-user")
@click.option("--role", type=click.Choice(["admin", "educator"]), required=True)
@click.option("--email", required=True)
@click.option("--name", "display_name", default="", help="Name shown to colleagues.")
@click.password_option(help="At least 12 characters.")
def create_user_command(role: str, email: str, display_name: str, password: str) -> None:
    """Create a staff account (admin or educator)."""
    with current_app.test_request_context(base_url=current_app.config["PUBLIC_BASE_URL"]):
        try:
            user = accounts.create_user(email, password, Role(role), display_name)
        except accounts.AccountError as error:
            session.rollback()
            raise click.ClickException(str(error)) from None
        session.commit()
    click.echo(f"Created {user.role.value} {user.email}")


@click.command("log-reference")
@click.argument("public_id")
def log_reference_command(public_id: str) -> None:
    """Print how log lines name a link or letter (its public id, as stored in the database)."""
    from pathway.audit import log_reference

    click.echo(log_reference(public_id))


@click.command("demo")
def demo_command() -> None:
    """Load the demo data when absent, then print the demo logins and links."""
    from pathway.demo import DEMO_PASSWORD, EDUCATOR_EMAIL, PATIENT_EMAIL, load_demo

    if current_app.config["PATHWAY_ENV"] == "production":
        # The demo accounts' password is published (README, this command's output): in a
        # production database they would open a patient's record to anyone.
        raise click.ClickException(
            "Refused: the demo data has accounts with a published password and is never "
            "loaded with PATHWAY_ENV=production. Load it only into a development database "
            "(PATHWAY_ENV=development)."
        )
    with current_app.test_request_context(base_url=current_app.config["PUBLIC_BASE_URL"]):
        result = load_demo()
        session.commit()
        links = demo_links()
    click.echo("Demo data " + ("loaded." if result.created else "already present."))
    click.echo(f"Educator login: {EDUCATOR_EMAIL} / {DEMO_PASSWORD}")
    click.echo(f"Patient login: {PATIENT_EMAIL} / {DEMO_PASSWORD}")
    for label, url in links.items():
        click.echo(f"{label}: {url}")


def demo_links() -> dict[str, str]:
    """The demo's shared links, for the README's walkthrough (filled in by the sharing features)."""
    links: dict[str, str] = {}
    links.update(_demo_gp_link())
    links.update(_demo_emergency_link())
    return links


def _demo_emergency_link() -> dict[str, str]:
    from sqlalchemy import select

    from pathway.cards.service import current_card
    from pathway.demo import PATIENT_EMAIL
    from pathway.models import User
    from pathway.sharing.shares import share_url

    user = session.scalar(select(User).where(User.email == PATIENT_EMAIL))
    card = current_card(user.patient) if user is not None and user.patient is not None else None
    return {"Emergency link": share_url(card)} if card is not None else {}


def _demo_gp_link() -> dict[str, str]:
    from sqlalchemy import select

    from pathway.demo import PATIENT_EMAIL
    from pathway.models import User
    from pathway.sharing.shares import active_gp_share, share_url

    user = session.scalar(select(User).where(User.email == PATIENT_EMAIL))
    share = active_gp_share(user.patient) if user is not None and user.patient is not None else None
    return {"GP link": share_url(share)} if share is not None else {}


@click.command("migrate")
@click.option("--revision", default="head", show_default=True)
def migrate_command(revision: str) -> None:
    """Apply the database migrations (upgrade to the given revision)."""
    from pathway.migrate import upgrade

    upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo("Database schema up to date.")


@click.command("purge")
@click.option("--days", type=int, default=None, help="Retention in days (default: RETENTION_DAYS).")
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
def purge_command(days: int | None, dry_run: bool) -> None:
    """Delete access and audit events older than the retention period (run it daily)."""
    from pathway.retention import RetentionError, purge

    with current_app.test_request_context(base_url=current_app.config["PUBLIC_BASE_URL"]):
        try:
            result = purge(days, dry_run=dry_run)
        except RetentionError as error:
            raise click.ClickException(str(error)) from None
        if not dry_run:
            session.commit()
    verb = "Would delete" if dry_run else "Deleted"
    click.echo(
        f"{verb} {result.access_events} access events and {result.audit_events} audit events "
        f"older than {result.cutoff:%Y-%m-%d %H:%M} UTC."
    )


@click.command("send-mail")
def send_mail_command() -> None:
    """Send the outbox's due messages (run it every minute: retries after a mail outage)."""
    from pathway import mail

    # Messages are sent right after the response that wrote them; this catches up on
    # those a mail outage or a stopped worker left behind. Safe on several hosts at once.
    result = mail.deliver()
    forgotten = mail.forget_sent()
    click.echo(
        f"Sent {result.sent} messages, {result.failed} failed; {mail.waiting()} waiting; "
        f"{forgotten} old records deleted."
    )


@click.command("send-reminders")
def send_reminders_command() -> None:
    """Queue the e-mails of links that expire within 3 days or have just expired (run it
    every few minutes, then send-mail)."""
    from pathway.reminders import send_reminders

    # Each reminder is claimed once, in the transaction that queues it: safe on several
    # hosts at once.
    with current_app.test_request_context(base_url=current_app.config["PUBLIC_BASE_URL"]):
        result = send_reminders()
        session.commit()
    click.echo(
        f"Queued {result.expiring} reminders of links expiring soon and {result.expired} "
        "of links expired; `flask send-mail` sends them."
    )


@click.command("reset-two-factor")
@click.option("--email", required=True)
def reset_two_factor_command(email: str) -> None:
    """Turn off a staff member's two-step sign-in (lost phone and recovery codes); they are
    told by email."""
    from pathway import mail
    from pathway.auth import twofactor

    with current_app.test_request_context(base_url=current_app.config["PUBLIC_BASE_URL"]):
        user = accounts.find_user(email)
        if user is None:
            raise click.ClickException(f"No account with the address {email}")
        notice = twofactor.reset(user)
        session.commit()
        notice_id = notice.id
    click.echo(f"Two-step sign-in reset for {email}: they set it up again at their next sign-in.")
    # No response to send it after: the message goes now (or with the next `flask send-mail`).
    sent = mail.deliver(first=[notice_id], limit=1)
    if sent.sent:
        click.echo(f"{email} has been told by email.")
    else:
        click.echo(f"The email telling {email} is in the outbox: `flask send-mail` sends it.")


@click.command("create-programme")
@click.option("--name", required=True, help="The programme's name.")
@click.option("--hospital", default="")
@click.option("--service", default="", help="The hospital service running it.")
def create_programme_command(name: str, hospital: str, service: str) -> None:
    """Create an ETP programme (then add educators with add-educator)."""
    from pathway.programme.enrollments import EnrollmentError, create_programme

    with current_app.test_request_context(base_url=current_app.config["PUBLIC_BASE_URL"]):
        try:
            programme = create_programme(name, hospital=hospital, service=service)
        except EnrollmentError as error:
            session.rollback()
            raise click.ClickException(str(error)) from None
        session.commit()
        click.echo(f"Created programme {programme.id}: {programme.name}")


@click.command("add-educator")
@click.option(
    "--programme",
    "programme_id",
    type=click.IntRange(1, MAX_ID),
    required=True,
    help="The programme's id.",
)
@click.option("--email", required=True, help="An existing educator account.")
def add_educator_command(programme_id: int, email: str) -> None:
    """Make an educator a member of a programme's team."""
    from pathway.models import Programme
    from pathway.programme.enrollments import EnrollmentError, add_educator

    with current_app.test_request_context(base_url=current_app.config["PUBLIC_BASE_URL"]):
        programme = session.get(Programme, programme_id)
        if programme is None:
            raise click.ClickException(f"No programme with id {programme_id}.")
        try:
            user = add_educator(programme, email)
        except EnrollmentError as error:
            session.rollback()
            raise click.ClickException(str(error)) from None
        session.commit()
        click.echo(f"{user.email} is now in the team of {programme.name}")
