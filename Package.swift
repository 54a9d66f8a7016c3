// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "mongo-rs-bootstrap",
    products: [
        .executable(name: "mongo-rs-bootstrap", targets: ["mongo-rs-bootstrap"]),
        .executable(name: "mongo-sim", targets: ["mongo-sim"]),
        .executable(name: "mongo-rs-bench", targets: ["mongo-rs-bench"]),
        .library(name: "ReplicaSetBootstrap", targets: ["ReplicaSetBootstrap"]),
        .library(name: "MongoSimulator", targets: ["MongoSimulator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        // The tests' child processes (TestSupport's SpawnedProcess).
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
    ],
    targets: [
        // libmongoc and libbson from the system (Debian: libmongoc-dev).
        .systemLibrary(
            name: "CMongoc",
            pkgConfig: "libmongoc-1.0",
            providers: [.apt(["libmongoc-dev"])]
        ),
        // libcrypto from the system (Debian: libssl-dev, which libmongoc-dev depends on): the
        // simulator's SCRAM and x.509 server side.
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // libyaml from the system (Debian: libyaml-dev; the image's runtime needs libyaml-0-2): the
        // spec file's YAML parser.
        .systemLibrary(
            name: "CYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        // Swift values for BSON documents, converted through libbson. Shared by the tool's driver
        // and the simulator; it knows nothing about replica sets.
        .target(name: "MongoBSON", dependencies: ["CMongoc"]),
        // The system resolver (glibc's libresolv) for --from-srv: res_nsearch and libresolv's own
        // message parser, as libmongoc uses them for mongodb+srv.
        .target(name: "CResolv", linkerSettings: [.linkedLibrary("resolv")]),
        .target(
            name: "ReplicaSetBootstrap",
            dependencies: [
                "CMongoc", "MongoBSON", "CResolv",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            // The state machine's phase diagram, for readers of the source.
            exclude: ["StateMachine/README.md"]
        ),
        // libmongoc's start-up, seen from before it runs (ELF .preinit_array entries): catches
        // its log for the tool's progress log, and keeps Cyrus SASL (libsasl2, which libmongoc
        // links) from loading plug-ins the tool has no use for.
        .target(name: "CMongocLogHook", dependencies: ["CMongoc"], linkerSettings: [.linkedLibrary("sasl2")]),
        .executableTarget(
            name: "mongo-rs-bootstrap",
            dependencies: [
                "ReplicaSetBootstrap", "MongoBSON", "CMongocLogHook", "CYAML",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            exclude: ["hot-code.order"],
            // Each function in a section of its own, so that the release link can lay the ones a
            // run executes out together (hot-code.order; the static Swift runtime is built this way).
            // Only here: unsafe flags on the library targets would keep other packages from
            // depending on ReplicaSetBootstrap or MongoSimulator by version.
            swiftSettings: [.unsafeFlags(["-Xfrontend", "-function-sections"], .when(configuration: .release))],
            // lld (the toolchain's) instead of gold, with the ~40,000 relative relocations packed
            // (DT_RELR, glibc 2.36 and later): the loader reads 8 KB of them instead of 950 KB, and
            // the process's peak RSS is ~1.4 MiB lower. In the release build, no dynamic symbols:
            // --static-swift-stdlib links with -export-dynamic, which put the modules' 3,575 public
            // symbols where every library's symbol lookups went through them; ~0.4 MiB less. Not
            // in debug, whose AddressSanitizer build exports its interceptors.
            // The functions a run executes laid out together (hot-code.order): the kernel maps
            // the 64 KiB around each page fault of the binary, so scattered hot code brought
            // ~3 MiB of cold code into the peak RSS; 1.4 MiB less at 3 members, 1.3 at 50.
            linkerSettings: [
                .unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"]),
                .unsafeFlags(["-Xlinker", "--no-export-dynamic"], .when(configuration: .release)),
                .unsafeFlags(["-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/Sources/mongo-rs-bootstrap/hot-code.order",
                              "-Xlinker", "--no-warn-symbol-ordering"], .when(configuration: .release)),
            ]
        ),
        .target(
            name: "MongoSimulator",
            dependencies: [
                "MongoBSON", "COpenSSL",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .executableTarget(
            name: "mongo-sim",
            dependencies: [
                "MongoSimulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // scripts/bench: the release binary, spawned as a process, against simulated members.
        .executableTarget(
            name: "mongo-rs-bench",
            dependencies: ["MongoSimulator", "MongoBSON"]
        ),
        .testTarget(
            name: "MongoBSONTests",
            dependencies: ["MongoBSON"]
        ),
        .testTarget(
            name: "ReplicaSetBootstrapTests",
            dependencies: [
                "ReplicaSetBootstrap", "MongoBSON", "TestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // Helpers shared by the test targets: running the built binary, loopback listeners.
        .target(
            name: "TestSupport",
            dependencies: [.product(name: "Subprocess", package: "swift-subprocess")],
            path: "Tests/TestSupport"
        ),
        .testTarget(
            name: "CLITests",
            dependencies: ["mongo-rs-bootstrap", "TestSupport", .product(name: "Subprocess", package: "swift-subprocess")]
        ),
        // The real binary, spawned as a process, against simulated members.
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["mongo-rs-bootstrap", "ReplicaSetBootstrap", "MongoSimulator", "MongoBSON", "TestSupport",
                           .product(name: "Subprocess", package: "swift-subprocess")]
        ),
        .testTarget(
            name: "MongoSimulatorTests",
            dependencies: ["MongoSimulator", "MongoBSON", "CMongoc", "TestSupport", .product(name: "Subprocess", package: "swift-subprocess")]
        ),
        // The real binary against nodes that answer what mongod never would (issue 10, "Never
        // trust a node"): a wire-protocol server of the tests' own, scripted or in front of a
        // simulated member. CMongoc only to read the linked libmongoc's version.
        .testTarget(
            name: "HostileNodeTests",
            dependencies: ["mongo-rs-bootstrap", "MongoSimulator", "MongoBSON", "CMongoc", "TestSupport"]
        ),
    ]
)
