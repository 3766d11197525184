"""In-process front ends: Apache (mod_wsgi), FreeRADIUS (rlm_python3), PAM (pam_python).

Each module is named where it is deployed (``otpgate.adapters.apache``,
``otpgate.adapters.radius``, ``.../otpgate/adapters/pam.py``); ``per_process`` keeps
one Authenticator per settings for the process and closes it at exit.
"""
