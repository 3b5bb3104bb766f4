from relayer.cli import main

raise SystemExit(main())
