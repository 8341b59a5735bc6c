from redframe.cli import main

raise SystemExit(main())
