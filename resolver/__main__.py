from resolver.main import main

raise SystemExit(main())
