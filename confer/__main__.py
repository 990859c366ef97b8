from confer.cli import main

raise SystemExit(main())
