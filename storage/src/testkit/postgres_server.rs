pub struct PostgresServer; pub struct TestDatabase;
