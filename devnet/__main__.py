from devnet.cli import main

raise SystemExit(main())
