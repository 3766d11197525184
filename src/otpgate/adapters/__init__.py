"""In-process front ends: Apache (mod_wsgi), FreeRADIUS (rlm_python3), PAM (pam_python)."""
