import ArgumentParser

/// `dtpctl`: operator commands for a DTP deployment.
@main
struct DTPCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dtpctl",
        abstract: "Operator commands for DTP.",
        subcommands: [CheckCommand.self])
}
