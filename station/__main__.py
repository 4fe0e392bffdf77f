from station.cli.main import main

raise SystemExit(main())
