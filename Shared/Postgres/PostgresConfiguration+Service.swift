/// Why a service's database settings could not be read: the variable to name and what is wrong with it.
public struct PostgresSettingsProblem: Sendable, Hashable {
    /// `DTP_PG_URL`, or `PGUSER` for the libpq variables.
    public let variable: String
    /// What is wrong; never the URL, which holds the password.
    public let message: String
}

extension PostgresConfiguration {
    /// The database settings of a DTP service: `DTP_PG_URL` when it is set, else the libpq variables
    /// (`PGHOST`, `PGUSER`, ...), with `applicationName` unless `PGAPPNAME` names one. Every service reads
    /// its database this way; a problem comes back for the service's configuration report, next to the
    /// local default it stands in for.
    public static func forService(
        environment: [String: String], applicationName: String
    ) -> (configuration: PostgresConfiguration, problem: PostgresSettingsProblem?) {
        var configuration = PostgresConfiguration(host: "127.0.0.1", port: 5432, user: "dtp", database: "dtp")
        var problem: PostgresSettingsProblem?
        do {
            if let url = environment["DTP_PG_URL"], !url.isEmpty {
                configuration = try PostgresConfiguration(url: url)
            } else {
                configuration = try PostgresConfiguration(environment: environment)
            }
        } catch {
            let variable = environment["DTP_PG_URL"].map { $0.isEmpty ? "PGUSER" : "DTP_PG_URL" } ?? "PGUSER"
            problem = PostgresSettingsProblem(variable: variable, message: error.message)
        }
        configuration.applicationName = configuration.applicationName ?? applicationName
        return (configuration, problem)
    }
}
