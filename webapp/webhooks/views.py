"""Webhooks for managers: where ticket events are sent, with what secret, and how it went."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import delete as sa_delete
from sqlalchemy import or_, select
from wtforms import SelectField, StringField, URLField
from wtforms.validators import URL, DataRequired, Length, ValidationError

from foundation.roles import OFFICE, Role
from tickets.webhooks import (
    AddressRules,
    Webhook,
    WebhookDelivery,
    WebhookRefused,
    forget_subscriptions,
    recent_deliveries,
    resolve,
)
from webapp.access import roles_required, visible_site_ids, visible_sites
from webapp.choices import choices
from webapp.extensions import db
from webapp.form_rules import Form
from webapp.pages import render, see_other

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


REFUSED_WORDS = {
    "bad_url": _l("Invalid URL."),
    "not_https": _l("Use an https address."),
    "unresolvable": _l("This address cannot be found."),
    "internal_address": _l("This address is inside a private network: webhooks go only to public addresses."),
}
OUTCOME_WORDS = {
    **REFUSED_WORDS,
    "unreachable": _l("No connection"),
    "timeout": _l("No answer in time"),
}


class WebhookForm(Form):
    url = URLField(_l("Endpoint URL"), validators=[DataRequired(), URL(require_tld=False), Length(max=500)])
    site_id = SelectField(_l("Site"), coerce=int)
    description = StringField(_l("What it is for"), validators=[Length(max=200)])

    def validate_url(self, field) -> None:
        try:
            resolve(field.data.strip(), AddressRules.from_settings(current_app.config))
        except WebhookRefused as refused:
            raise ValidationError(REFUSED_WORDS[refused.code]) from None


def _form(formdata=None) -> WebhookForm:
    form = WebhookForm(formdata=formdata)
    form.site_id.choices = choices([(site.id, site.name) for site in visible_sites(current_user)])
    return form


@bp.route("", methods=["GET", "POST"])
@roles_required(OFFICE)
def index():
    """The endpoints of the manager's sites, a form to add one, and the last deliveries."""
    form = _form(request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate():
        db.session.add(
            Webhook(
                url=form.url.data.strip(), site_id=form.site_id.data, description=(form.description.data or "").strip()
            )
        )
        forget_subscriptions(db.session)
        db.session.commit()
        flash(_("Webhook added. Give its secret to the receiver: it signs every delivery."))
        return see_other(url_for("webhooks.index"))
    site_ids = visible_site_ids(current_user)
    hooks = db.session.scalars(
        select(Webhook).where(or_(Webhook.site_id.in_(site_ids), Webhook.site_id.is_(None))).order_by(Webhook.id)
    ).all()
    return render(
        "webhooks/index.html",
        form=form,
        hooks=hooks,
        may_change=_may_change,
        actions=Form(),
        outcome_words=OUTCOME_WORDS,
        deliveries=recent_deliveries(db.session, site_ids),
        status=422 if form.errors else 200,
    )


def _may_change(hook: Webhook) -> bool:
    """A site's webhook by its managers; one for every site by an administrator."""
    return current_user.role == Role.ADMIN or (hook.site_id is not None and current_user.may_see_site(hook.site_id))


def _hook(webhook_id: int) -> Webhook:
    hook = db.session.get(Webhook, webhook_id)
    if hook is None or not _may_change(hook) or not Form().validate_on_submit():
        abort(404)
    return hook


@bp.route("/<int:webhook_id>/active", methods=["POST"])
@roles_required(OFFICE)
def set_active(webhook_id: int):
    """Pause a webhook (nothing more is queued for it) or resume it."""
    hook = _hook(webhook_id)
    hook.active = not hook.active
    forget_subscriptions(db.session)
    db.session.commit()
    flash(_("Webhook resumed.") if hook.active else _("Webhook paused: no more events are sent to it."))
    return see_other(url_for("webhooks.index"))


@bp.route("/<int:webhook_id>/delete", methods=["POST"])
@roles_required(OFFICE)
def delete(webhook_id: int):
    """Remove a webhook and its delivery log."""
    hook = _hook(webhook_id)
    db.session.execute(sa_delete(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id))
    db.session.delete(hook)
    forget_subscriptions(db.session)
    db.session.commit()
    flash(_("Webhook deleted."))
    return see_other(url_for("webhooks.index"))
