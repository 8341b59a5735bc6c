from redframe.launch import main

raise SystemExit(main())
