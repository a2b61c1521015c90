"""Webhooks for managers: where ticket events are sent, with what secret, and how it went."""

from __future__ import annotations

from flask import Blueprint, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import or_, select
from wtforms import SelectField, StringField, URLField
from wtforms.validators import URL, DataRequired, Length

from foundation.roles import OFFICE
from tickets.webhooks import Webhook, forget_subscriptions, recent_deliveries
from webapp.access import roles_required, visible_site_ids, visible_sites
from webapp.choices import choices
from webapp.extensions import db
from webapp.form_rules import Form
from webapp.pages import render, see_other

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


class WebhookForm(Form):
    url = URLField(_l("Endpoint URL"), validators=[DataRequired(), URL(require_tld=False), Length(max=500)])
    site_id = SelectField(_l("Site"), coerce=int)
    description = StringField(_l("What it is for"), validators=[Length(max=200)])


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
        deliveries=recent_deliveries(db.session, site_ids),
        status=422 if form.errors else 200,
    )
