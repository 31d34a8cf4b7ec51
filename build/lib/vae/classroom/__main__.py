"""`python -m vae.classroom` (what `make classroom` runs): see vae.classroom.launch."""

from vae.classroom.launch import main

raise SystemExit(main())
