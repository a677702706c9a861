"""Sign-in, sign-out, invitations, password reset."""
