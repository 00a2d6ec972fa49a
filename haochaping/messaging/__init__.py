"""messaging — 短信: the SMS gateway adapter, rating invitations (智能邀评) and inbound replies."""
