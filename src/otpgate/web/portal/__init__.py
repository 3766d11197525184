"""The login portal and the self-service pages (login, enrolment, account)."""
