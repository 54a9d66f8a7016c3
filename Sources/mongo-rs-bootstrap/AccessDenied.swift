import ReplicaSetBootstrap

/// What to tell the operator when a node denies access (exit 77): which node, which user with
/// which mechanism, which command and the role it needs, and what to change.
enum AccessDenied {
    /// The role the tool needs: every write it sends (replSetInitiate, replSetReconfig,
    /// replSetStepUp, replSetStepDown) is a clusterManager action (mongod's builtin_roles.cpp).
    static let requiredRole = "clusterManager"

    static func explain(_ error: MongoError, security: ConnectionSecurity) -> String {
        let host = error.host
        let credentials = security.credentials
        if error.kind == .certificateRejected {
            let remedy = if let caFile = security.tls?.caFile {
                "check that --tls-ca-file \(caFile) is the CA that signed this node's certificate and that the certificate names \(host.host) (--tls-allow-invalid-hostnames if it cannot)"
            } else {
                "give the CA that signed the nodes' certificates with --tls-ca-file"
            }
            return "\(host)'s TLS certificate was rejected: \(error.message); \(remedy)"
        }
        if error.isMissingAuthentication || (error.hasCode(.unauthorized) && credentials == nil) {
            let command = error.command ?? "commands"
            return "\(host) requires authentication to run \(command) (mongod --auth or --keyFile): give --username with --password-file (or \(Inputs.username.env) and \(Inputs.password.env)) for a user with the \(requiredRole) role"
        }
        if error.hasCode(.unauthorized) {
            let who = credentials?.description ?? "the user"
            let name = credentials?.username.map { "'\($0)'" } ?? "'<user>'"
            let database = credentials?.source ?? "admin"
            return "\(who) may not run \(error.command ?? "a replica set command") on \(host): the user needs the \(requiredRole) role on the admin database (clusterAdmin and root include it). Grant it on the primary: db.getSiblingDB('\(database)').grantRolesToUser(\(name), [{role: '\(requiredRole)', db: 'admin'}]). mongod said: \(error.message)"
        }
        // Authentication failed: mongod never says why (wrong password, unknown user, mechanism).
        let who = credentials?.description ?? "the credentials"
        var advice = "check the password and that the user exists in database '\(credentials?.source ?? "admin")' on this node"
        if credentials?.mechanism == .x509 {
            advice = "check that a user named by the certificate's subject exists in $external and that the node trusts the certificate's CA"
        }
        return "\(host) rejected \(who): \(error.message); \(advice)"
    }
}
